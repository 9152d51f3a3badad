// Layering checks on the import graph of every .ts file under src/ and bench/ (parsed with the
// TypeScript compiler, so comments and strings never count; type-only imports are ignored where
// they cannot pull code in):
//   1. no value-import cycles among files;
//   2. the sans-IO folders (the cores, the wedge, the contract, the application loop) reach no
//      runtime, CLI, simulator, benchmark or test file, no node: module but node:crypto and
//      node:net's address checks, and no file that uses timers or a clock — not even transitively;
//   3. nothing in src/ or bench/ imports test/.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders whose files must stay sans-IO (BRIEF: "Rules of the house"). */
const PURE = ['src/sctp/', 'src/addip/', 'src/tcp-migrate/', 'src/wedge/', 'src/transport-abstraction/', 'src/stream/'];
/** What a pure file must not reach: the worlds, the programs, the tests, and the package barrels that re-export them. */
const IMPURE_PLACES = ['src/node/', 'src/cli/', 'src/sim/', 'bench/', 'test/', 'src/api.ts', 'src/index.ts'];
const ALLOWED_BUILTINS: Record<string, readonly string[] | 'all'> = { 'node:crypto': 'all', 'node:net': ['isIP', 'isIPv4', 'isIPv6'] };
const CLOCKS = new Set(['setTimeout', 'setInterval', 'setImmediate']);

interface Import {
  readonly spec: string;
  /** Resolved project-relative path for relative specifiers. */
  readonly target?: string;
  readonly typeOnly: boolean;
  readonly names: readonly string[];
}

interface FileInfo {
  readonly imports: Import[];
  /** Why this file does I/O or reads time itself (a timer call, a clock read, an I/O builtin). */
  readonly io: string[];
}

function importsOf(path: string, text: string): FileInfo {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imports: Import[] = [];
  const io: string[] = [];
  const add = (spec: string, typeOnly: boolean, names: string[]): void => {
    const target = spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(path), spec.replace(/\.js$/, '.ts'))) : undefined;
    imports.push({ spec, typeOnly, names, ...(target !== undefined ? { target } : {}) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      let typeOnly = false;
      const names: string[] = [];
      if (clause) {
        const bindings = clause.namedBindings;
        const named = bindings && ts.isNamedImports(bindings) ? bindings.elements : undefined;
        typeOnly = clause.isTypeOnly || (clause.name === undefined && named !== undefined && named.every((e) => e.isTypeOnly));
        if (clause.name) names.push('default');
        if (bindings && ts.isNamespaceImport(bindings)) names.push('*');
        for (const e of named ?? []) if (!e.isTypeOnly) names.push((e.propertyName ?? e.name).text);
      }
      add(node.moduleSpecifier.text, typeOnly, names);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const typeOnly = node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier.text, typeOnly, ['*']);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, false, ['*']);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && CLOCKS.has(node.expression.text)) {
      io.push(`calls ${node.expression.text}`);
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.name.text === 'now' && (node.expression.text === 'Date' || node.expression.text === 'performance')) {
      io.push(`reads ${node.expression.text}.now`);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date') {
      io.push('reads new Date');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const i of imports) {
    if (i.typeOnly || !i.spec.startsWith('node:')) continue;
    const allowed = ALLOWED_BUILTINS[i.spec];
    if (allowed === 'all') continue;
    const bad = allowed === undefined ? i.names : i.names.filter((n) => !allowed.includes(n));
    if (bad.length > 0 || (allowed === undefined && i.names.length === 0)) io.push(`imports ${i.spec}${allowed === undefined ? '' : ` (${bad.join(', ')})`}`);
  }
  return { imports, io };
}

/** Every finding in a set of files (project-relative path -> text). */
export function analyse(files: ReadonlyMap<string, string>): string[] {
  const info = new Map<string, FileInfo>();
  for (const [path, text] of files) info.set(path, importsOf(path, text));
  const findings: string[] = [];
  const valueDeps = (path: string): string[] =>
    (info.get(path)?.imports ?? []).filter((i) => !i.typeOnly && i.target !== undefined && info.has(i.target)).map((i) => i.target!);

  // 3. nothing in src/ or bench/ imports test/
  for (const [path, fi] of info) for (const i of fi.imports) if (i.target?.startsWith('test/')) findings.push(`${path} imports ${i.target}`);

  // 2. pure folders: what they reach by value, transitively
  for (const path of info.keys()) {
    if (!PURE.some((p) => path.startsWith(p))) continue;
    const seen = new Map<string, string | undefined>([[path, undefined]]);
    const queue = [path];
    while (queue.length > 0) {
      const at = queue.shift()!;
      const via = (): string => {
        const chain = [at];
        for (let p = seen.get(at); p !== undefined; p = seen.get(p)) chain.unshift(p);
        return chain.join(' -> ');
      };
      for (const why of info.get(at)!.io) findings.push(`sans-IO ${path} ${at === path ? '' : `reaches ${via()}, which `}${why}`);
      for (const i of info.get(at)!.imports) {
        if (i.typeOnly || i.target === undefined) continue;
        if (IMPURE_PLACES.some((p) => i.target!.startsWith(p))) findings.push(`sans-IO ${path} reaches ${via()} -> ${i.target}`);
      }
      for (const next of valueDeps(at)) {
        if (seen.has(next) || IMPURE_PLACES.some((p) => next.startsWith(p))) continue; // reported above
        seen.set(next, at);
        queue.push(next);
      }
    }
  }

  // 1. value-import cycles (Tarjan's strongly connected components)
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of valueDeps(v)) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || valueDeps(v).includes(v)) findings.push(`value-import cycle: ${component.sort().join(', ')}`);
    }
  };
  for (const v of info.keys()) if (!index.has(v)) strong(v);
  return findings;
}

function tree(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) files.set(path, readFileSync(join(ROOT, path), 'utf8'));
    }
  };
  walk('src');
  walk('bench');
  return files;
}

test('the checker finds each kind of violation (so a clean tree means something)', (t) => {
  const findings = analyse(
    new Map([
      ['src/sctp/a.ts', "import { b } from './b.js';\nimport type { T } from '../node/socket.js';\nexport const a = b;"],
      ['src/sctp/b.ts', "import { a } from './a.js';\nexport const b = 1;"],
      ['src/sctp/c.ts', "import { type X } from './a.js';\nimport { clock } from '../util/clock.js';\nimport dgram from 'node:dgram';\nimport { isIP, Socket } from 'node:net';\nimport { randomBytes } from 'node:crypto';"],
      ['src/util/clock.ts', '// setTimeout in a comment does not count\nexport const clock = () => performance.now();'],
      ['src/transport-abstraction/x.ts', "export * from '../node/driver.js';\nconst s = 'setTimeout(';"],
      ['src/node/driver.ts', 'setTimeout(() => {}, 1);'],
      ['bench/b.ts', "import { h } from '../test/helpers/ports.js';"],
      ['src/sctp/ok.ts', "import type { Y } from '../node/driver.js';\nexport type { Z } from '../sim/network.js';"],
    ]),
  );
  t.deepEqual(findings.sort(), [
    'bench/b.ts imports test/helpers/ports.ts',
    'sans-IO src/sctp/c.ts imports node:dgram',
    'sans-IO src/sctp/c.ts imports node:net (Socket)',
    'sans-IO src/sctp/c.ts reaches src/sctp/c.ts -> src/util/clock.ts, which reads performance.now',
    'sans-IO src/transport-abstraction/x.ts reaches src/transport-abstraction/x.ts -> src/node/driver.ts',
    'value-import cycle: src/sctp/a.ts, src/sctp/b.ts',
  ]);
});

test('src/ and bench/: no value-import cycles, sans-IO folders reach no I/O, nothing imports test/', (t) => {
  t.deepEqual(analyse(tree()), []);
});
