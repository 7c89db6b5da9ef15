/**
 * No import cycle anywhere: every TypeScript file of ours (type-only imports included — a cycle of types
 * is a cycle of concepts) and the files it imports by a relative path form a graph without a loop.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';

const ROOT = path.resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', '.git', 'scratch-tmp', 'dist', 'results']);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) sources(file, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(file);
  }
  return out;
}

/** The relative imports (and re-exports, and dynamic imports of a literal) of one file, resolved. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const m of text.matchAll(
    /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
  )) {
    const target = path.resolve(path.dirname(file), (m[1] ?? m[2])!);
    if (target.endsWith('.ts')) found.add(target);
  }
  return [...found];
}

/** Every cycle a depth-first walk meets, as `a → b → a`. */
function findCycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(ROOT, f)).join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  return cycles;
}

t.test('the import graph has no cycle', async (t) => {
  const files = sources(ROOT);
  t.ok(files.length > 100, `${files.length} files read`);
  t.ok(
    importsOf(path.join(ROOT, 'gpu-pool', 'silent-audio.ts')).some((f) => f.endsWith('libav-track.ts')),
    'imports are read',
  );
  t.same(findCycles(new Map(files.map((f) => [f, importsOf(f)]))), [], 'no file imports itself through others');
  // The walk sees a cycle when there is one.
  const [a, b, c] = ['a.ts', 'b.ts', 'c.ts'].map((f) => path.join(ROOT, f));
  t.same(
    findCycles(
      new Map([
        [a!, [b!]],
        [b!, [c!]],
        [c!, [a!]],
      ]),
    ),
    ['a.ts → b.ts → c.ts → a.ts'],
  );
});

t.test('actors/ and gpu-pool/ import nothing of ours but protocol/ (the pure parts stay pure)', async (t) => {
  for (const folder of ['actors', 'gpu-pool']) {
    const base = path.join(ROOT, folder);
    const outside = sources(base)
      .filter((file) => !file.includes(`${path.sep}test${path.sep}`))
      .flatMap((file) =>
        importsOf(file)
          .filter((target) => !target.startsWith(base + path.sep) && !target.startsWith(path.join(ROOT, 'protocol') + path.sep))
          .map((target) => `${path.relative(ROOT, file)} → ${path.relative(ROOT, target)}`),
      );
    t.same(outside, [], `${folder}/: only its own files and protocol/`);
  }
});

t.test('support code has one home: tests and benchmarks import shared helpers from testkit/ only', async (t) => {
  // A test may import the code under test and testkit/; never another folder's tests (their helpers).
  const crossings = sources(ROOT)
    .filter((file) =>
      path
        .relative(ROOT, file)
        .split(path.sep)
        .some((part) => part === 'bench' || part === 'test' || part === 'testkit'),
    )
    .flatMap((file) =>
      importsOf(file)
        .filter((target) => target.includes(`${path.sep}test${path.sep}`) && path.dirname(target) !== path.dirname(file))
        .map((target) => `${path.relative(ROOT, file)} → ${path.relative(ROOT, target)}`),
    );
  t.same(crossings, [], 'no import of another folder’s test files');
});

t.test('no file under server/ is over 300 lines (tests aside): one job per file', async (t) => {
  const long = sources(path.join(ROOT, 'server'))
    .filter((file) => !file.includes(`${path.sep}test${path.sep}`))
    .map((file) => ({ file: path.relative(ROOT, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > 300);
  t.same(long, [], 'each of these does more than one job');
});
