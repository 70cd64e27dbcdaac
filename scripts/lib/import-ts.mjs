// @ts-check
// Node 20 cannot run TypeScript: esbuild bundles a .ts entry (npm packages left external) into
// node_modules/.cache, inside the repo so that those packages resolve, and imports it.
// `killswitch/client` resolves to src/client (the package's own export).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ROOT } from './wrangler-dev.mjs';

/**
 * @param {string} entry a .ts file, relative to the repo
 * @returns {Promise<Record<string, unknown>>} its exports
 */
export async function importTs(entry) {
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  const out = join(mkdtempSync(join(ROOT, 'node_modules/.cache/killswitch-ts-')), 'entry.mjs');
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    alias: { 'killswitch/client': join(ROOT, 'src/client/index.ts') },
    logLevel: 'warning',
  });
  return import(pathToFileURL(out).href);
}
