import { describe, expect, it } from 'vitest';

/**
 * The shape of src/: HTTP lives at the edges, and no module imports itself back. The sources
 * come in as text through Vite (the workers runtime has no file system to walk).
 */
const sources = (
  import.meta as unknown as {
    glob(pattern: string, options: { query: '?raw'; import: 'default'; eager: true }): Record<string, string>;
  }
).glob('../src/**/*.ts', { query: '?raw', import: 'default', eager: true });

/** src-relative path (`verify/verifier.ts`) → source text. */
const files = new Map(Object.entries(sources).map(([key, text]) => [key.replace(/^\.\.\/src\//, ''), text]));

/** Every module an import or re-export names, type-only ones included (as tools/cycles.mjs reads them). */
function specifiers(text: string): string[] {
  const found = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  const bare = [...text.matchAll(/(?:^|;|\s)import\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  const dynamic = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return [...found, ...bare, ...dynamic];
}

/** A relative specifier as a file of `paths`, or undefined (a package, or not a .ts module). */
function resolve(from: string, specifier: string, paths: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const parts = from.split('/').slice(0, -1);
  for (const part of specifier.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.') parts.push(part);
  }
  const base = parts.join('/');
  return [base, `${base}.ts`, `${base}/index.ts`].find((candidate) => paths.has(candidate));
}

/** Strongly connected components of more than one module (or a module importing itself): Tarjan's. */
function importCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const strong = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) strong(v);
  return cycles;
}

function importGraph(modules: ReadonlyMap<string, string>): Map<string, Set<string>> {
  const paths = new Set(modules.keys());
  return new Map(
    [...modules].map(([path, text]) => [
      path,
      new Set(
        specifiers(text)
          .map((s) => resolve(path, s, paths))
          .filter((p): p is string => p !== undefined),
      ),
    ]),
  );
}

/** Domain code: it knows nothing of Hono or of the HTTP edges, and throws KillswitchError (src/errors.ts). */
const DOMAIN = ['revocation/', 'verify/', 'tokens/', 'keys/', 'ssf/', 'config/'];
const EDGES = ['routes/', 'http/', 'middleware/', 'rpc/', 'app.ts', 'index.ts'];

/** What each of `paths` imports that it must not: `file → import`. */
function violations(paths: readonly string[], forbidden: (target: string) => boolean): string[] {
  const all = new Set(files.keys());
  return paths.flatMap((path) =>
    specifiers(files.get(path)!)
      .filter((s) => forbidden(s.startsWith('.') ? (resolve(path, s, all) ?? s) : s))
      .map((s) => `${path} → ${s}`),
  );
}

describe('architecture of src/', () => {
  it('reads every module of src/ (the checks below are not vacuous)', () => {
    expect(files.size).toBeGreaterThan(50);
    expect(files.has('verify/verifier.ts') && files.has('app.ts') && files.has('http/responses.ts')).toBe(true);
    // The scanner sees a package import, a relative one and a re-export where they are.
    const app = specifiers(files.get('app.ts')!);
    expect(app).toContain('hono');
    expect(violations(['app.ts'], (target) => target.startsWith('routes/'))).not.toEqual([]);
    expect(importGraph(files).get('middleware/index.ts')).toContain('middleware/killswitch.ts');
  });

  it('domain code imports neither hono nor the HTTP edges', () => {
    const domain = [...files.keys()].filter((path) => DOMAIN.some((folder) => path.startsWith(folder)));
    expect(domain.length).toBeGreaterThan(30);
    const bad = violations(
      domain,
      (target) => target === 'hono' || target.startsWith('hono/') || EDGES.some((edge) => target.startsWith(edge)),
    );
    expect(bad).toEqual([]);
  });

  it('the middleware and the RPC entrypoint import HTTP helpers from src/http, never from src/routes', () => {
    const entries = [...files.keys()].filter((path) => path.startsWith('middleware/') || path.startsWith('rpc/'));
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(violations(entries, (target) => target.startsWith('routes/'))).toEqual([]);
  });

  it('one clock: whole seconds come from src/clock.ts only', () => {
    const inline = [...files].filter(([path, text]) => path !== 'clock.ts' && /Date\.now\(\)\s*\/\s*1000/.test(text));
    expect(inline.map(([path]) => path)).toEqual([]);
    expect(files.get('clock.ts')).toMatch(/Date\.now\(\)\s*\/\s*1000/);
  });

  it('finds an import cycle when there is one', () => {
    const cyclic = new Map([
      ['a.ts', "import { b } from './b';"],
      ['b.ts', "import type { C } from './dir/c';"],
      ['dir/c.ts', "export { a } from '../a';"],
      ['d.ts', "import { a } from './a';"],
      ['e.ts', "import { e } from './e';"],
    ]);
    expect(importCycles(importGraph(cyclic))).toEqual([['a.ts', 'b.ts', 'dir/c.ts'], ['e.ts']]);
  });

  it('has no import cycle (type-only imports included)', () => {
    expect(importCycles(importGraph(files))).toEqual([]);
  });
});
