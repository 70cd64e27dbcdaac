// Starting and always stopping `wrangler dev` (and anything else the bench spawns).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

const children = new Set();

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `wrangler dev` in its own process group (detached), ready when it prints "Ready on <url>".
 * Returns { url, pid, name, output(), reloads(), stop() }. Output is kept (bounded) for errors.
 */
export async function startWrangler({ name, cwd, wranglerBin, config, envFile, vars = [], persistTo, logDir, timeoutMs = 90_000, onLine }) {
  const port = await freePort();
  const args = [
    wranglerBin, 'dev',
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', '0',
    '--show-interactive-dev-session=false', '--persist-to', persistTo,
  ];
  if (config) args.push('-c', config);
  if (envFile) args.push('--env-file', envFile);
  for (const v of vars) args.push('--var', v);
  const child = spawn(process.execPath, args, {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_LOG_PATH: logDir, // mandatory: wrangler otherwise logs ~20 MB per worker per run
      CI: '1',
      NO_COLOR: '1',
    },
  });
  const entry = { name, pid: child.pid, child, exited: false };
  children.add(entry);
  child.on('exit', () => { entry.exited = true; children.delete(entry); });

  const tail = [];
  let reloads = 0;
  let isReady = false;
  const reloadLines = [];
  let lines = 0;
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
  const onData = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (line === '') continue;
      lines++;
      if (tail.length < 400 || !/^\[wrangler:info\] (GET|POST)/.test(line)) {
        tail.push(line);
        if (tail.length > 600) tail.splice(0, tail.length - 600);
      }
      const m = line.match(/Ready on (http:\/\/\S+)/);
      if (m) { isReady = true; resolveReady(m[1]); }
      if (isReady && /Reloading local server|Local server updated/i.test(line)) { reloads++; reloadLines.push(line); }
      onLine?.(line);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('exit', (code, signal) => rejectReady(new Error(`${name}: wrangler exited (${code ?? signal}) before ready:\n${tail.slice(-40).join('\n')}`)));
  const timer = setTimeout(() => rejectReady(new Error(`${name}: not ready after ${timeoutMs} ms:\n${tail.slice(-40).join('\n')}`)), timeoutMs);
  let url;
  try {
    url = await ready;
  } catch (error) {
    await stopProcess(entry);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    name,
    url: url.replace(/\/$/, ''),
    pid: child.pid,
    output: () => tail.join('\n'),
    lineCount: () => lines,
    reloads: () => reloads,
    reloadLines: () => reloadLines,
    stop: () => stopProcess(entry),
  };
}

async function stopProcess(entry) {
  if (entry.exited) return;
  try {
    process.kill(-entry.pid, 'SIGTERM');
  } catch {
    return;
  }
  const exited = once(entry.child, 'exit').then(() => true);
  const timeout = new Promise((resolve) => setTimeout(() => resolve(false), 5000).unref());
  if (!(await Promise.race([exited, timeout]))) {
    try { process.kill(-entry.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/** Stops every process group this module started. Safe to call more than once. */
export async function stopAll() {
  await Promise.all([...children].map(stopProcess));
}

/** Synchronous last resort (process 'exit'): SIGTERM every group still running. */
export function killAllSync() {
  for (const entry of children) {
    try { process.kill(-entry.pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

export function wranglerBinIn(root) {
  return join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
}
