// Writers for an experiment's three outputs: DIR/NAME.csv, DIR/NAME.md (a markdown table) and
// DIR/NAME.svg (a bar or line chart). Dependency-free: the SVG is written by hand, no browser.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Cell = string | number;

/** Bars: one panel per series (each with its own scale), one bar per category. */
export interface BarChart {
  readonly kind: 'bar';
  readonly title: string;
  readonly categories: readonly string[];
  readonly series: readonly {
    readonly name: string;
    readonly values: readonly number[];
    /** Reference values (e.g. the paper's) drawn as a black mark across each bar; NaN for none. */
    readonly reference?: readonly number[];
  }[];
  /** Legend text for the reference marks. */
  readonly referenceName?: string;
}

/** Lines: y against x, one line per series, on shared axes. */
export interface LineChart {
  readonly kind: 'line';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly series: readonly { readonly name: string; readonly points: readonly (readonly [number, number])[] }[];
}

export type Chart = BarChart | LineChart;

export interface ExperimentOutput {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  readonly chart: Chart;
  /** A hand-made SVG written instead of the chart's (a plot the chart kinds cannot draw). */
  readonly svg?: string;
  /** Markdown written under the table (how it was made, the paper's numbers, ...). */
  readonly notes?: string;
  /**
   * Set when the run went through but is not valid (a transfer failed, a check did not hold): the
   * files are still written, with this in the markdown, and the command exits non-zero. A run that
   * cannot produce output at all throws instead.
   */
  readonly failure?: string;
}

/** Writes DIR/NAME.csv, DIR/NAME.md, DIR/NAME.svg; returns their paths. */
export function writeReport(dir: string, name: string, output: ExperimentOutput): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    [`${name}.csv`, toCsv(output.columns, output.rows)],
    [`${name}.md`, toMarkdown(output)],
    [`${name}.svg`, output.svg ?? toSvg(output.chart)],
  ];
  return files.map(([file, text]) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  });
}

export function toCsv(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const field = (cell: Cell) => {
    const text = String(cell);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [columns, ...rows].map((row) => row.map(field).join(',')).join('\n') + '\n';
}

export function markdownTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cell = (c: Cell) => String(c).replaceAll('|', '\\|').replaceAll('\n', ' ');
  const line = (cells: readonly Cell[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(columns), line(columns.map(() => '---')), ...rows.map(line)].join('\n');
}

export function toMarkdown(output: ExperimentOutput): string {
  const parts = [`# ${output.title}`, ''];
  if (output.failure) parts.push(`**The run failed:** ${output.failure}`, '');
  parts.push(markdownTable(output.columns, output.rows), '');
  if (output.notes) parts.push(output.notes.trim(), '');
  return parts.join('\n');
}

const COLORS = ['#4477aa', '#ee6677', '#228833', '#ccbb44', '#66ccee', '#aa3377', '#bbbbbb'];
const WIDTH = 720;
const FONT = 'font-family="sans-serif" font-size="12"';

const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** A label for a number on an axis or above a bar: at most 3 significant digits past the integer part. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100 || Number.isInteger(value)) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** A "nice" axis maximum at or above max: 1, 2, 2.5 or 5 times a power of ten. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export function toSvg(chart: Chart): string {
  return chart.kind === 'bar' ? barSvg(chart) : lineSvg(chart);
}

function barSvg(chart: BarChart): string {
  const panelHeight = 220;
  const top = 40;
  const left = 60;
  const plotWidth = WIDTH - left - 20;
  const height = top + chart.series.length * (panelHeight + 30);
  const out = [svgOpen(WIDTH, height), title(chart.title)];
  chart.series.forEach((series, p) => {
    const y0 = top + p * (panelHeight + 30);
    const plotHeight = panelHeight - 50;
    const max = niceCeiling(Math.max(0, ...[...series.values, ...(series.reference ?? [])].filter(Number.isFinite)));
    const band = plotWidth / Math.max(1, chart.categories.length);
    const color = COLORS[p % COLORS.length]!;
    out.push(`<text x="${left}" y="${y0 + 12}" ${FONT} font-weight="bold">${escapeXml(series.name)}</text>`);
    const base = y0 + 20 + plotHeight;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      const y = base - (plotHeight * i) / 4;
      out.push(`<line x1="${left}" y1="${y}" x2="${left + plotWidth}" y2="${y}" stroke="#ddd"/>`);
      out.push(`<text x="${left - 6}" y="${y + 4}" ${FONT} text-anchor="end">${formatNumber(v)}</text>`);
    }
    chart.categories.forEach((category, i) => {
      const value = series.values[i] ?? NaN;
      const h = Number.isFinite(value) ? (plotHeight * Math.max(0, value)) / max : 0;
      const x = left + i * band + band * 0.15;
      out.push(`<rect x="${x}" y="${base - h}" width="${band * 0.7}" height="${h}" fill="${color}"/>`);
      const mark = series.reference?.[i];
      const labelTop = Math.max(h, mark !== undefined && Number.isFinite(mark) ? (plotHeight * Math.max(0, mark)) / max : 0);
      out.push(`<text x="${x + band * 0.35}" y="${base - labelTop - 5}" ${FONT} text-anchor="middle">${formatNumber(value)}</text>`);
      out.push(`<text x="${x + band * 0.35}" y="${base + 16}" ${FONT} text-anchor="middle">${escapeXml(category)}</text>`);
      const reference = series.reference?.[i];
      if (reference !== undefined && Number.isFinite(reference)) {
        const ry = base - (plotHeight * Math.max(0, reference)) / max;
        out.push(`<line x1="${x - 4}" y1="${ry}" x2="${x + band * 0.7 + 4}" y2="${ry}" stroke="black" stroke-width="3"/>`);
      }
    });
    if (series.reference && chart.referenceName) {
      const lx = left + plotWidth - 150;
      out.push(`<line x1="${lx}" y1="${y0 + 8}" x2="${lx + 20}" y2="${y0 + 8}" stroke="black" stroke-width="3"/>`);
      out.push(`<text x="${lx + 26}" y="${y0 + 12}" ${FONT}>${escapeXml(chart.referenceName)}</text>`);
    }
  });
  out.push('</svg>\n');
  return out.join('\n');
}

function lineSvg(chart: LineChart): string {
  const height = 420;
  const left = 70;
  const top = 40;
  const plotWidth = WIDTH - left - 180;
  const plotHeight = height - top - 60;
  const points = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!chart.logX || x > 0));
  const fx = (x: number) => (chart.logX ? Math.log10(x) : x);
  const xs = points.map(([x]) => fx(x));
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length && Math.max(...xs) > xMin ? Math.max(...xs) : xMin + 1;
  const yMax = niceCeiling(Math.max(0, ...points.map(([, y]) => y)));
  const px = (x: number) => left + ((fx(x) - xMin) / (xMax - xMin)) * plotWidth;
  const py = (y: number) => top + plotHeight - (y / yMax) * plotHeight;
  const out = [svgOpen(WIDTH, height), title(chart.title)];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(`<line x1="${left}" y1="${py(v)}" x2="${left + plotWidth}" y2="${py(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${py(v) + 4}" ${FONT} text-anchor="end">${formatNumber(v)}</text>`);
  }
  // Ticks: powers of ten on a log axis (when there are at least two), else five even steps.
  const decades = chart.logX ? Array.from({ length: Math.floor(xMax) - Math.ceil(xMin) + 1 }, (_, i) => Math.ceil(xMin) + i) : [];
  const ticks = decades.length >= 2 ? decades : [0, 1, 2, 3, 4].map((i) => xMin + ((xMax - xMin) * i) / 4);
  for (const t of ticks) {
    const x = left + ((t - xMin) / (xMax - xMin)) * plotWidth;
    out.push(`<text x="${x}" y="${top + plotHeight + 16}" ${FONT} text-anchor="middle">${formatNumber(chart.logX ? 10 ** t : t)}</text>`);
  }
  out.push(`<text x="${left + plotWidth / 2}" y="${height - 14}" ${FONT} text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(`<text x="16" y="${top + plotHeight / 2}" ${FONT} text-anchor="middle" transform="rotate(-90 16 ${top + plotHeight / 2})">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length]!;
    const valid = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!chart.logX || x > 0));
    if (valid.length > 0) {
      const path = valid.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const [x, y] of valid) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    const ly = top + 10 + i * 18;
    out.push(`<line x1="${left + plotWidth + 15}" y1="${ly}" x2="${left + plotWidth + 35}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${left + plotWidth + 40}" y="${ly + 4}" ${FONT}>${escapeXml(series.name)}</text>`);
  });
  out.push('</svg>\n');
  return out.join('\n');
}

const svgOpen = (width: number, height: number) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="white"/>`;

const title = (text: string) => `<text x="${WIDTH / 2}" y="22" font-family="sans-serif" font-size="15" text-anchor="middle">${escapeXml(text)}</text>`;
