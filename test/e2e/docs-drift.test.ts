/**
 * Docs that cannot drift: each list the code has (Durable Object tables, storage key builders,
 * audit actions, reason codes, configuration vars, npm scripts) is compared with the place
 * the docs list it, both ways, and every relative link in the docs resolves inside the repo.
 * Node-side (fs): reads the files as they are in the work tree, no worker started.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeReason } from '../../cli/format.mjs';
import { ROOT } from '../../scripts/lib/wrangler-dev.mjs';
import reasonDescriptions from '../../src/verify/reason-descriptions.json' with { type: 'json' };
import { REASONS } from '../../src/verify/reasons';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(dir, name));
}

/** Markdown without fenced code blocks: what a reader sees as prose, tables and links. */
const withoutFences = (md: string) => md.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');

/** The section under the first heading matching `heading`, up to the next heading of its level or higher. */
function section(md: string, heading: RegExp): string {
  const lines = md.split('\n');
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && heading.test(line));
  if (start < 0) throw new Error(`no heading ${heading}`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((line, i) => i > start && new RegExp(`^#{1,${level}} `).test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** Rows (cells) of every markdown table in `md` whose header's first cell matches `firstHeader`. */
function tableRows(md: string, firstHeader: RegExp): string[][] {
  const rows: string[][] = [];
  let state: 'outside' | 'taking' | 'skipping' = 'outside';
  for (const line of md.split('\n')) {
    if (!line.startsWith('|')) {
      state = 'outside';
      continue;
    }
    // Split on pipes that are not escaped (`\|` inside a cell).
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (state === 'outside') state = firstHeader.test(cells[0]!) ? 'taking' : 'skipping';
    else if (state === 'taking' && !/^:?-+:?$/.test(cells[0]!)) rows.push(cells);
  }
  return rows;
}

/** Every `code` span of a cell. */
const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** The first `code` span of a cell, without a call's arguments (`userKvKey(sub)` → `userKvKey`). */
const firstCode = (cell: string) => codeSpans(cell)[0]?.replace(/\(.*$/, '');

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

describe('docs/storage.md', () => {
  const storage = read('docs/storage.md');
  const sources = filesUnder('src', '.ts').map((path) => ({ path, text: read(path) }));

  it('names every table the Durable Objects create, and only those', () => {
    const created: string[] = [];
    for (const { path, text } of sources) {
      for (const [, name] of text.matchAll(/CREATE TABLE IF NOT EXISTS (\$\{\w+\}|\w+)/g)) {
        if (!name!.startsWith('$')) {
          created.push(name!);
          continue;
        }
        // KvOutbox's table is a parameter: its default, and the name each caller passes.
        const fallback = /\btable = '(\w+)'/.exec(text);
        expect(fallback, `${path}: a table name from a parameter without a default`).not.toBeNull();
        created.push(fallback![1]!);
        for (const other of sources) {
          for (const [, passed] of other.text.matchAll(/new KvOutbox\([^;']*'(\w+)'/g)) created.push(passed!);
        }
      }
    }
    expect(created.length).toBeGreaterThan(10);
    const documented = tableRows(withoutFences(storage), /^table$/).map((row) => firstCode(row[0]!) ?? row[0]!);
    expect(sorted(documented)).toEqual(sorted(created));
  });

  it('lists every export of src/revocation/storage-keys.ts with the name it builds, and only those', () => {
    const module = read('src/revocation/storage-keys.ts');
    const rows = tableRows(section(storage, /The names, by builder/), /^builder$/);
    const byBuilder = new Map<string, string>();
    for (const row of rows) for (const builder of codeSpans(row[0]!)) byBuilder.set(builder.replace(/\(.*$/, ''), row[1]!);

    const exported = [...module.matchAll(/^export (?:const|(?:async )?function) (\w+)/gm)].map((m) => m[1]!);
    expect(exported.length).toBeGreaterThan(10);
    expect(sorted(byBuilder.keys())).toEqual(sorted(exported));

    for (const name of exported) {
      // The literal(s) each constant is, or the prefix each builder returns before its `${…}`.
      const start = module.search(new RegExp(`^export (?:const|(?:async )?function) ${name}\\b`, 'm'));
      const lines = module.slice(start).split('\n');
      const end = lines.findIndex((line) => line === '}' || /^\S.*;$/.test(line));
      const body = lines.slice(0, end + 1).join('\n');
      const literals = body.startsWith('export const')
        ? [...body.matchAll(/'([^']+)'/g)].map((m) => m[1]!)
        : [...body.matchAll(/return `([^`$]+)\$\{/g)].map((m) => m[1]!);
      for (const literal of literals) expect(byBuilder.get(name), `${name}: '${literal}'`).toContain(literal);
    }
  });

  it('lists every audit action (AUDIT_ACTIONS), and only those', () => {
    const module = read('src/revocation/audit-log.ts');
    const tuple = /export const AUDIT_ACTIONS = \[([^\]]*)\] as const/.exec(module);
    expect(tuple, 'AUDIT_ACTIONS is one tuple in src/revocation/audit-log.ts').not.toBeNull();
    const actions = [...tuple![1]!.matchAll(/'(\w+)'/g)].map((m) => m[1]!);
    const documented = tableRows(section(storage, /^## Audit actions/), /^action$/).map((row) => firstCode(row[0]!)!);
    expect(documented).toEqual(actions);
    // Elsewhere an action is named as `action = x`; the reference's audit route lists them all.
    for (const [, named] of storage.matchAll(/`action = (\w+)`/g)) expect(actions).toContain(named);
    for (const [, list] of read('docs/reference.md').matchAll(/`action` is one of ([^.]*)\./g)) {
      expect(sorted(codeSpans(list!))).toEqual(sorted(actions));
    }
  });
});

describe('reason codes', () => {
  it("docs/reference.md's reason table lists every code of REASONS once, and nothing else", () => {
    const rows = tableRows(section(read('docs/reference.md'), /Reason codes/), /^reason$/);
    const documented = rows.map((row) => firstCode(row[0]!)!);
    expect(documented.toSorted()).toEqual([...REASONS].sort());
  });

  it('the CLI describes every code, from src/verify/reason-descriptions.json, and nothing else', () => {
    expect(Object.keys(reasonDescriptions)).toEqual([...REASONS]);
    for (const reason of REASONS) {
      const description = (reasonDescriptions as Record<string, string>)[reason]!;
      expect(description.length).toBeGreaterThan(5);
      expect(describeReason(reason)).toBe(`${reason} (${description})`);
    }
    expect(describeReason('toString')).toBe('toString');
  });
});

describe('configuration', () => {
  it("docs/reference.md's vars table lists every var src/config reads, and only those", () => {
    const read_ = filesUnder('src/config', '.ts').map(read).join('\n');
    const parsed = sorted([
      ...[...read_.matchAll(/\w+Var\(\s*env\s*,\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!),
      ...[...read_.matchAll(/\bfield = '([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!),
    ]);
    expect(parsed.length).toBeGreaterThan(15);
    const rows = tableRows(section(read('docs/reference.md'), /2\.1 Vars and secrets/), /^name$/);
    const documented = sorted(rows.flatMap((row) => codeSpans(row[0]!)).filter((name) => /^[A-Z][A-Z0-9_]+$/.test(name)));
    expect(documented).toEqual(parsed);
  });
});

/** GitHub's heading anchors: lower case, punctuation but `-` dropped, spaces to `-`, repeats numbered. */
function anchorsOf(md: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, text] of withoutFences(md).matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const plain = text!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*_]/g, (c) => (c === '_' ? '_' : ''));
    const slug = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

const DOCS = ['README.md', 'bench/README.md', 'examples/README.md', ...filesUnder('docs', '.md')];

describe('links', () => {
  for (const doc of DOCS) {
    it(`${doc}: every relative link resolves to a file in the repo (and #anchor to a heading)`, () => {
      const md = withoutFences(read(doc)).replace(/`[^`\n]*`/g, '');
      const links = [...md.matchAll(/\]\(<?([^)\s>]+)>?(?: "[^"]*")?\)/g)].map((m) => m[1]!);
      const problems: string[] = [];
      for (const link of links) {
        if (/^[a-z][a-z+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, doc) : resolve(ROOT, dirname(doc), decodeURI(path));
        const inside = relative(ROOT, target);
        if (inside.startsWith('..') || resolve(target) === resolve(ROOT, '..')) {
          problems.push(`${link}: outside the repo`);
          continue;
        }
        if (!existsSync(target)) {
          problems.push(`${link}: no such file`);
          continue;
        }
        if (anchor !== undefined && !(statSync(target).isFile() && anchorsOf(readFileSync(target, 'utf8')).has(anchor))) {
          problems.push(`${link}: no heading #${anchor}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('the README links every document under docs/', () => {
    const readme = read('README.md');
    const unlinked = filesUnder('docs', '.md').filter((doc) => !readme.includes(`](${doc})`));
    expect(unlinked).toEqual([]);
  });

  it('no doc or test cites SPEC sections (the repo stands alone: cite docs/reference.md)', () => {
    const files = [...DOCS, ...filesUnder('test', '.ts')].filter((path) => !path.endsWith('docs-drift.test.ts'));
    const citing = files.filter((path) => /\bSPEC\b|\.\.\/shared/.test(read(path)));
    expect(citing).toEqual([]);
  });
});

describe('npm scripts', () => {
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
  const asCommand = (script: string) => (script === 'start' || script === 'test' ? `npm ${script}` : `npm run ${script}`);

  it('every `npm run <x>` in the README and docs exists in package.json', () => {
    const named = DOCS.flatMap((doc) => [...read(doc).matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1]!));
    expect(named.length).toBeGreaterThan(10);
    expect(sorted(named).filter((script) => !scripts.includes(script))).toEqual([]);
  });

  it("the README's Development table lists every script exactly once, and nothing else", () => {
    const rows = tableRows(section(read('README.md'), /^## Development/), /^command$/);
    const listed = rows.map((row) => /^npm (?:run )?([\w:-]+)/.exec(codeSpans(row[0]!)[0] ?? '')?.[1]);
    expect(listed.toSorted()).toEqual([...scripts].sort());
    expect(listed.map((script) => asCommand(script!))).toEqual(rows.map((row) => codeSpans(row[0]!)[0]!.split(' -- ')[0]));
  });
});
