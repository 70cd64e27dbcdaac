// @ts-check
// The Workers a bench run starts under `wrangler dev`, and the URL its load goes to: each
// Worker's own workerd socket (bench/lib/direct-socket.mjs), or with --proxied the public
// port, where wrangler dev's proxy workerd forwards every request.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWranglerDev } from '../../scripts/lib/wrangler-dev.mjs';
import { findUserWorkerSocket } from './direct-socket.mjs';

/** @typedef {import('../../scripts/lib/wrangler-dev.mjs').WranglerDev} WranglerDev */
/** @typedef {WranglerDev & { publicUrl: string, via: string, workerdPid?: number }} BenchWorker `url` is where the load goes; `workerdPid` the user Worker's workerd (not with --proxied) */

/**
 * A copy of the worker (src/, wrangler.toml …) so edits to the work tree during a run do not
 * hot-reload it; with `ref`, that commit's files (git archive). Beside it, counting/: the
 * storage-call counting wrapper (bench/ks-counting) with its own wrangler.toml.
 * @param {{ root: string, benchDir: string, dest: string, ref?: string }} at
 * @returns {string} dest
 */
export function snapshotApp({ root, benchDir, dest, ref }) {
  mkdirSync(dest, { recursive: true });
  const files = ['src', 'wrangler.toml', 'package.json', 'tsconfig.json'];
  if (ref) {
    const tar = execFileSync(
      'git',
      ['archive', '--format=tar', ref, '--', ...files.filter((f) => f === 'src' || existsSync(join(root, f)))],
      { cwd: root, maxBuffer: 256 * 2 ** 20 },
    );
    execFileSync('tar', ['-x', '-C', dest], { input: tar });
  } else {
    for (const f of files) {
      if (existsSync(join(root, f))) cpSync(join(root, f), join(dest, f), { recursive: true });
    }
  }
  symlinkSync(join(root, 'node_modules'), join(dest, 'node_modules'), 'dir');
  // Without the [assets] block (the console's files): under wrangler dev the asset router runs in
  // the Worker's own workerd in front of every request (run_worker_first) and took ~45 % of a
  // /healthz request's CPU (`node bench/ab.mjs --no-assets`); on Cloudflare that router is the
  // platform's, not the Worker's CPU. The bench sends no request to /admin.
  const appToml = readFileSync(join(dest, 'wrangler.toml'), 'utf8').replace(/^\[assets\]\n(?:[a-z_]+ = .*\n)+/m, '');
  writeFileSync(join(dest, 'wrangler.toml'), appToml);
  mkdirSync(join(dest, 'counting'));
  cpSync(join(benchDir, 'ks-counting', 'worker.mjs'), join(dest, 'counting', 'worker.mjs'));
  const toml = appToml.replace(/^name\s*=.*$/m, 'name = "killswitch-bench-counting"').replace(/^main\s*=.*$/m, 'main = "worker.mjs"');
  writeFileSync(join(dest, 'counting', 'wrangler.toml'), toml);
  return dest;
}

/**
 * Writes an --env-file: KEY='value' lines (values without quotes or newlines).
 * @param {string} file
 * @param {Record<string, string>} vars
 * @returns {string} file
 */
export function writeEnvFile(file, vars) {
  const lines = Object.entries(vars).map(([k, v]) => {
    if (/['\n]/.test(v)) throw new Error(`env value for ${k} cannot be written`);
    return `${k}='${v}'`;
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Starts Workers under wrangler dev and resolves where their load goes.
 * @param {{ wranglerBin: string, logDir: string, tmp: string, proxied: boolean }} setup
 */
export function workerStarter({ wranglerBin, logDir, tmp, proxied }) {
  /**
   * @param {string} name
   * @param {string} cwd
   * @param {{ envFile: string, persistTo?: string, onLine?: (line: string) => void }} extra
   * @returns {Promise<BenchWorker>}
   */
  return async (name, cwd, extra) => {
    // --port 0: wrangler binds a free port itself and prints it.
    const dev = await startWranglerDev({
      name,
      cwd,
      wranglerBin,
      logDir,
      persistTo: join(tmp, `state-${name}`),
      timeoutMs: 90_000,
      ...extra,
    });
    if (proxied) return Object.assign(dev, { publicUrl: dev.url, via: 'wrangler dev proxy' });
    const direct = await findUserWorkerSocket(dev);
    return Object.assign(dev, {
      publicUrl: dev.url,
      url: direct.url,
      via: `own workerd socket (pid ${direct.pid})`,
      workerdPid: direct.pid,
    });
  };
}

/**
 * Whether a Worker started with an optional mode (REVOCATION_MODE=bounded) accepts it: a
 * valid token verifies. A build that does not know the mode answers 500
 * server_misconfigured and logs the REVOCATION_MODE error, which is returned as the reason.
 * @param {BenchWorker} worker
 * @param {string} token a valid token
 * @returns {Promise<{ ok: true } | { ok: false, why: string }>}
 */
export async function acceptsMode(worker, token) {
  const res = await fetch(`${worker.url}/v1/verify`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status === 200) return { ok: true };
  const refused = /"error":"(REVOCATION_MODE[^"]*)"/;
  // The log line travels through wrangler's stdout and may arrive after the response.
  const logged =
    res.status === 500
      ? await worker.waitFor(refused, 5_000).then(
          () => true,
          () => false,
        )
      : false;
  if (logged) return { ok: false, why: `the configuration refuses it: ${refused.exec(worker.output())?.[1]}` };
  throw new Error(`${worker.name}: a valid token answered ${res.status} ${text}\n${worker.output().slice(-3000)}`);
}
