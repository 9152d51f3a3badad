// The SVG of Figure 3: one panel per transport, the data the client receives as sequence (TCP
// bytes) or TSN (SCTP) over time, one colour per server, the client's acknowledgements as a grey
// step line, and the takeover requests, answers and refusals as labelled marks along the top.
import { formatNumber, niceCeiling } from './report.js';
import type { Fig3Trace } from './fig3.js';

/** The hosts of the Figure 3 world by address, named as the paper names them. */
export const SERVER_NAMES: Readonly<Record<string, string>> = { '10.0.0.1': 'cl', '10.0.1.1': 'sA', '10.0.1.2': 'sB', '10.0.1.3': 'sC' };

const WIDTH = 760;
const PANEL = 300;
const LEFT = 80;
const RIGHT = 130;
const FONT = 'font-family="sans-serif" font-size="11"';
const COLORS: Record<string, string> = { sA: '#4477aa', sB: '#228833', sC: '#ee6677', cl: '#666' };

const esc = (t: string) => t.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export function traceSvg(traces: readonly Fig3Trace[]): string {
  const height = 40 + traces.length * (PANEL + 40);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${WIDTH / 2}" y="22" font-family="sans-serif" font-size="15" text-anchor="middle">Figure 3: failover trace at the client (time from the death report)</text>`,
  ];
  traces.forEach((trace, p) => out.push(...panel(trace, 40 + p * (PANEL + 40))));
  out.push('</svg>\n');
  return out.join('\n');
}

function panel(trace: Fig3Trace, top: number): string[] {
  const rows = trace.rows;
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = PANEL - 70;
  const y0 = top + 40;
  const times = rows.map((r) => r.time);
  const tMin = Math.min(0, ...times);
  const tMax = Math.max(tMin + 0.1, ...times);
  // The scale: the data received and the client's acknowledgements (not a probe's stale TSN, not
  // the numbers in a refusal, which belong to the refused request).
  const plotted = (r: (typeof rows)[number]) => !r.note.includes('holds already');
  const acks = rows.filter((r) => r.line.direction === 'out' && r.line.role !== 'refusal' && r.line.ack !== undefined && r.line.ack < 2 ** 31);
  const values = [
    ...rows.filter((r) => r.line.direction === 'in' && plotted(r)).flatMap((r) => [r.line.dataStart, r.line.dataEnd]),
    ...acks.map((r) => r.line.ack),
  ].filter((v): v is number => v !== undefined);
  const lowest = Math.min(...values);
  const vMax = Math.max(lowest + 1, ...values);
  let span = niceCeiling(vMax - lowest);
  const vMin = Math.floor(lowest / (span / 4)) * (span / 4);
  if (vMin + span < vMax) span += span / 4;
  const px = (t: number) => LEFT + ((t - tMin) / (tMax - tMin)) * plotW;
  const py = (v: number) => y0 + plotH - ((v - vMin) / span) * plotH;
  const unit = trace.kind === 'tcp' ? 'relative sequence (bytes)' : 'relative TSN';
  const out = [`<text x="${LEFT}" y="${top + 12}" ${FONT} font-weight="bold">${trace.kind === 'tcp' ? 'TCP-Migrate' : 'SCTP'}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = vMin + (span * i) / 4;
    out.push(`<line x1="${LEFT}" y1="${py(v)}" x2="${LEFT + plotW}" y2="${py(v)}" stroke="#eee"/>`);
    out.push(`<text x="${LEFT - 6}" y="${py(v) + 4}" ${FONT} text-anchor="end">${formatNumber(v)}</text>`);
    const t = tMin + ((tMax - tMin) * i) / 4;
    out.push(`<text x="${px(t)}" y="${y0 + plotH + 16}" ${FONT} text-anchor="middle">${t.toFixed(2)}</text>`);
  }
  out.push(`<text x="${LEFT + plotW / 2}" y="${y0 + plotH + 32}" ${FONT} text-anchor="middle">seconds from the death report</text>`);
  out.push(`<text x="18" y="${y0 + plotH / 2}" ${FONT} text-anchor="middle" transform="rotate(-90 18 ${y0 + plotH / 2})">${unit}</text>`);
  out.push(`<line x1="${px(0)}" y1="${y0 - 8}" x2="${px(0)}" y2="${y0 + plotH}" stroke="black" stroke-dasharray="4 3"/>`);
  // The client's acknowledgements, a grey line.
  if (acks.length > 0) out.push(`<polyline points="${acks.map((r) => `${px(r.time).toFixed(1)},${py(r.line.ack!).toFixed(1)}`).join(' ')}" fill="none" stroke="#bbb" stroke-width="1.5"/>`);
  // Data received: a vertical bar per packet over its range, coloured by server; refused ones hollow.
  for (const r of rows) {
    if (r.line.direction !== 'in' || r.line.dataStart === undefined || r.line.dataEnd === undefined || !plotted(r)) continue;
    const name = SERVER_NAMES[r.line.from.address] ?? '?';
    const refused = r.note.includes('refused');
    const x = px(r.time);
    out.push(`<rect x="${(x - 3).toFixed(1)}" y="${py(r.line.dataEnd).toFixed(1)}" width="6" height="${Math.max(2, py(r.line.dataStart) - py(r.line.dataEnd)).toFixed(1)}" fill="${refused ? 'white' : COLORS[name]}" stroke="${COLORS[name]}" stroke-width="1.5"/>`);
  }
  // Takeover requests, answers and refusals: marks along the top, labelled.
  let lane = 0;
  for (const r of rows) {
    if (!['takeover', 'takeover-answer', 'refusal'].includes(r.line.role)) continue;
    const peer = r.line.direction === 'in' ? r.line.from.address : r.line.to.address;
    const name = SERVER_NAMES[peer] ?? '?';
    const label = r.line.role === 'takeover' ? `${name} request` : r.line.role === 'takeover-answer' ? `accept ${name}` : `refuse ${name}`;
    const x = px(r.time);
    const y = y0 - 2 - (lane++ % 3) * 11;
    out.push(`<line x1="${x}" y1="${y}" x2="${x}" y2="${y0 + plotH}" stroke="${COLORS[name]}" stroke-width="0.6" stroke-dasharray="2 2"/>`);
    out.push(`<text x="${x + 2}" y="${y}" font-family="sans-serif" font-size="9" fill="${COLORS[name]}">${esc(label)}</text>`);
  }
  // Legend.
  const lx = LEFT + plotW + 12;
  ['sA', 'sB', 'sC'].forEach((name, i) => {
    out.push(`<rect x="${lx}" y="${y0 + i * 16}" width="10" height="10" fill="${COLORS[name]}"/>`);
    out.push(`<text x="${lx + 14}" y="${y0 + i * 16 + 9}" ${FONT}>data from ${name}</text>`);
  });
  out.push(`<rect x="${lx}" y="${y0 + 48}" width="10" height="10" fill="white" stroke="${COLORS.sA}"/>`);
  out.push(`<text x="${lx + 14}" y="${y0 + 57}" ${FONT}>refused</text>`);
  out.push(`<line x1="${lx}" y1="${y0 + 69}" x2="${lx + 10}" y2="${y0 + 69}" stroke="#bbb" stroke-width="1.5"/>`);
  out.push(`<text x="${lx + 14}" y="${y0 + 73}" ${FONT}>client's ack</text>`);
  return out;
}
