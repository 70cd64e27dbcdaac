// @ts-check
// The one way this repository starts `wrangler dev`: the end-to-end tests (test/e2e), the soak
// (scripts/soak.mjs) and the bench (bench/run.mjs). Plain ESM JavaScript so that node runs it
// as is; its option and handle types in wrangler-dev-types.d.ts.
//
// Every worker listens on 127.0.0.1 only, has its own state, log and dev-registry directories
// (a temporary directory removed by stop(), unless the caller names its own), and runs detached
// in its own process group so that one signal to the group takes workerd down with wrangler.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {import('./wrangler-dev-types.d.ts').WranglerDevOptions} WranglerDevOptions */
/** @typedef {import('./wrangler-dev-types.d.ts').WranglerDev} WranglerDev */

/** The repository root (where package.json is). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** dev/demo.env, absolute. */
export const DEMO_ENV = join(ROOT, 'dev/demo.env');
/** The admin key in dev/demo.env. */
export const DEMO_ADMIN_KEY = 'demo-admin-key-not-for-production';
/** The trusted issuer in dev/demo.env (its key: dev/demo-issuer.private.jwk.json). */
export const DEMO_ISSUER = 'https://demo.killswitch.local';

/** SIGTERM to the group, then SIGKILL if it is still running this much later. */
const KILL_AFTER_MS = 5_000;
/** Lines of output kept for output() (and error messages). */
const TAIL_LINES = 600;
/** Once the tail holds this many lines, wrangler's per-request log lines are no longer kept. */
const TAIL_REQUEST_LINES = 400;
const REQUEST_LINE = /^\[wrangler:info\] [A-Z]+ \//;
const READY = /Ready on (http:\/\/\S+)/;
const RELOAD = /Reloading local server|Local server updated/i;

/** Every worker started here and not yet exited. @type {Set<{ pid: number, stop: () => Promise<void> }>} */
const live = new Set();
let exitHandlerInstalled = false;

/** `<root>/node_modules/wrangler/bin/wrangler.js`. @param {string} root */
export function wranglerBinIn(root) {
  return join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, read, closed), for an option
 * wrangler does not report back, such as inspectorPort. Another process may take it meanwhile.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => done(port));
    });
  });
}

/**
 * Starts `wrangler dev` and resolves once it printed "Ready on http://…" (the real URL, also
 * with port 0). Rejects, after stopping it, if it exits first or is not ready in timeoutMs.
 * @param {WranglerDevOptions} [options]
 * @returns {Promise<WranglerDev>}
 */
export async function startWranglerDev(options = {}) {
  const {
    cwd = ROOT,
    wranglerBin = wranglerBinIn(ROOT),
    configs = [],
    envFile = null,
    vars = [],
    port = 0,
    inspectorPort = 0,
    timeoutMs = 60_000,
    onLine,
  } = options;
  const name = options.name ?? (configs.length > 0 ? configs.join(', ') : 'wrangler dev');
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    // Last resort only (synchronous): the normal path is stop() or stopAll().
    process.once('exit', killAllSync);
  }

  const work = mkdtempSync(join(tmpdir(), 'killswitch-wrangler-dev-'));
  const args = [
    wranglerBin,
    'dev',
    ...configs.flatMap((c) => ['-c', c]),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--show-interactive-dev-session=false',
    '--persist-to',
    options.persistTo ?? join(work, 'state'),
    ...(envFile === null ? [] : ['--env-file', envFile]),
    ...vars.flatMap((v) => ['--var', v]),
  ];
  const child = spawn(process.execPath, args, {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_LOG_PATH: options.logDir ?? work, // mandatory: wrangler otherwise logs ~20 MB per worker per run
      // Never meet a developer's own `npm start` (or another run) through the default registry.
      WRANGLER_REGISTRY_PATH: options.registry ?? join(work, 'registry'),
      CI: '1',
      NO_COLOR: '1',
    },
  });
  // A pid unless the spawn of node itself failed (then 'exit' follows at once).
  const pid = /** @type {number} */ (child.pid);
  /** @type {Promise<void>} */
  const exited = new Promise((done) => child.once('exit', () => done()));

  /** @type {string[]} */
  const tail = [];
  /** @type {string[]} */
  const reloadLines = [];
  /** @type {Set<() => boolean>} */
  const waiters = new Set();
  let partial = '';
  /** @type {string | undefined} */
  let url;
  let onReady = () => {};
  const output = () => tail.join('\n');
  const takeLine = (/** @type {string} */ line) => {
    if (line === '') return;
    if (tail.length < TAIL_REQUEST_LINES || !REQUEST_LINE.test(line)) {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    }
    if (url === undefined) {
      const match = READY.exec(line);
      if (match !== null) {
        url = match[1].replace(/\/$/, '');
        onReady();
      }
    } else if (RELOAD.test(line)) {
      reloadLines.push(line);
    }
    onLine?.(line);
  };
  const onData = (/** @type {Buffer} */ chunk) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = /** @type {string} */ (lines.pop());
    for (const line of lines) takeLine(line);
    for (const waiter of waiters) waiter();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.once('exit', () => live.delete(entry));
  child.once('close', () => {
    takeLine(partial);
    partial = '';
  });

  /** @type {Promise<void> | undefined} */
  let stopped;
  /** @returns {Promise<void>} */
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const killer = setTimeout(() => {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, KILL_AFTER_MS);
        await exited;
        clearTimeout(killer);
      }
      live.delete(entry);
      rmSync(work, { recursive: true, force: true });
    })();
    return stopped;
  };
  const entry = { pid, stop };
  live.add(entry);

  /**
   * Resolves once the output (the kept tail, then each new chunk) matches `pattern`.
   * @param {RegExp} pattern
   * @returns {Promise<void>}
   */
  const waitFor = (pattern, waitMs = 30_000) =>
    new Promise((done, fail) => {
      const check = () => {
        if (!pattern.test(output() + (partial === '' ? '' : `\n${partial}`))) return false;
        finish();
        done();
        return true;
      };
      const finish = () => {
        waiters.delete(check);
        clearTimeout(timer);
      };
      const timer = setTimeout(() => {
        finish();
        fail(new Error(`${name}: no ${pattern} after ${waitMs / 1000} s:\n${output()}`));
      }, waitMs);
      if (!check()) waiters.add(check);
    });

  try {
    await /** @type {Promise<void>} */ (
      new Promise((ready, fail) => {
        if (url !== undefined) return ready();
        const timer = setTimeout(() => fail(new Error(`${name}: not ready after ${timeoutMs / 1000} s:\n${output()}`)), timeoutMs);
        onReady = () => {
          clearTimeout(timer);
          ready();
        };
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          fail(new Error(`${name}: wrangler dev exited (${code ?? signal}) before it was ready:\n${output()}`));
        });
      })
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    name,
    url: /** @type {string} */ (url), // set before ready
    pid,
    output,
    waitFor,
    reloads: () => reloadLines.length,
    reloadLines: () => [...reloadLines],
    stop,
  };
}

/** Stops every worker started here and still running. Safe to call more than once. */
export async function stopAll() {
  await Promise.all([...live].map((entry) => entry.stop()));
}

/** Synchronous last resort (a process 'exit' handler): SIGTERM to every group still running. */
export function killAllSync() {
  for (const entry of live) {
    try {
      process.kill(-entry.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
