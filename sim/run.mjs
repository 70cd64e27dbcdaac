// Bundles the simulator (sim/cli.ts and the product code it imports) with esbuild and runs it:
// the product's `cloudflare:workers` import is served by sim/shims (plain Node has no workerd).
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new globalThis.URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'killswitch-sim-'));
const outfile = join(dir, 'sim.mjs');
try {
  await build({
    entryPoints: [join(here, 'cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    alias: { 'cloudflare:workers': join(here, 'shims/cloudflare-workers.ts') },
    logLevel: 'warning',
  });
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
