#!/usr/bin/env node
// @ts-check
// `npm run deploy:dry-run`: bundles the worker exactly as `wrangler deploy` would, without deploying
// (`wrangler deploy --dry-run --outdir`; offline, no Cloudflare account needed), and reports
// the bundle size, raw and gzip, against the Workers limits.
//   npm run deploy:dry-run [-- --outdir dist] [-- --json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { routeWarnings } from './deploy-checks.mjs';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' }, json: { type: 'boolean', default: false } } });
const outdir = resolve(values.outdir ?? mkdtempSync(join(tmpdir(), 'killswitch-build-')));

const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir], {
  cwd: ROOT,
  encoding: 'utf8',
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    NO_COLOR: '1',
    CI: '1',
    WRANGLER_LOG_PATH: process.env.WRANGLER_LOG_PATH ?? outdir,
  },
});
const output = `${run.stdout}${run.stderr}`;
if (run.status !== 0 || !/--dry-run: exiting now/.test(output)) {
  process.stderr.write(output);
  process.stderr.write(`\nbuild: wrangler deploy --dry-run failed (exit ${run.status})\n`);
  process.exit(1);
}

const files = readdirSync(outdir, { recursive: true })
  .map(String)
  .filter((name) => /\.(m?js|wasm)$/.test(name) && statSync(join(outdir, name)).isFile())
  .map((name) => {
    const bytes = readFileSync(join(outdir, name));
    return { name, bytes: bytes.length, gzipBytes: gzipSync(bytes).length };
  });
const total = files.reduce((sum, f) => sum + f.bytes, 0);
const gzip = files.reduce((sum, f) => sum + f.gzipBytes, 0);
const upload = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
// The bindings table wrangler prints: env.NAME ("value")  Environment Variable
const vars = Object.fromEntries([...output.matchAll(/^env\.(\w+) \("(.*)"\)\s+Environment Variable/gm)].map((m) => [m[1], m[2]]));
// (The static assets binding prints no value: `env.ASSETS   Assets`.)
const bindings = [...output.matchAll(/^env\.(\w+)(?: \((.*?)\))?\s{2,}(\S.*?)\s*$/gm)].map((m) => ({ name: m[1], resource: m[3] }));
const assets = /Read (\d+) files? from the assets directory/.exec(output);
const LIMIT_FREE = 3 * 1024 * 1024;
const LIMIT_PAID = 10 * 1024 * 1024;
const report = {
  outdir,
  files,
  bytes: total,
  gzipBytes: gzip,
  wrangler: upload ? { totalUploadKiB: Number(upload[1]), gzipKiB: Number(upload[2]) } : null,
  limits: { freeGzipBytes: LIMIT_FREE, paidGzipBytes: LIMIT_PAID },
  bindings,
  /** Files of the admin console (public/), uploaded as Workers Static Assets. */
  assetFiles: assets ? Number(assets[1]) : 0,
  vars,
  warnings: routeWarnings(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')),
};
for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);

if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const kib = (/** @type {number} */ n) => `${(n / 1024).toFixed(2)} KiB`;
  const lines = [`bundle: ${relative(process.cwd(), outdir) || '.'}`];
  for (const f of files) lines.push(`  ${f.name.padEnd(16)} ${kib(f.bytes).padStart(12)}  gzip ${kib(f.gzipBytes).padStart(11)}`);
  lines.push(
    `  ${'total'.padEnd(16)} ${kib(total).padStart(12)}  gzip ${kib(gzip).padStart(11)}   (Workers limit: 3 MiB gzip free, 10 MiB paid)`,
  );
  if (upload) lines.push(`  wrangler says: Total Upload ${upload[1]} KiB / gzip ${upload[2]} KiB`);
  lines.push(`  assets: ${report.assetFiles} files (public/: the admin console)`);
  lines.push(`  bindings: ${bindings.map((b) => `${b.name} (${b.resource})`).join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
if (gzip > LIMIT_FREE) {
  process.stderr.write(`build: the bundle is over the free plan's 3 MiB (gzip) limit\n`);
  process.exit(1);
}
