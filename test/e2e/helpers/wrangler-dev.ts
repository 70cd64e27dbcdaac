/**
 * Starts `wrangler dev` for the end-to-end tests: 127.0.0.1, a free port, its own state,
 * log and dev-registry directories, detached in its own process group so that workerd goes
 * down with it. Used by cli.test.ts and examples.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../../..');
export const DEMO_ENV = join(ROOT, 'dev/demo.env');
export const DEMO_ADMIN_KEY = 'demo-admin-key-not-for-production';
export const DEMO_ISSUER = 'https://demo.killswitch.local';

export interface DevWorker {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Everything wrangler printed so far. */
  output(): string;
  /** Resolves once wrangler has printed something matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface DevOptions {
  /** wrangler.toml paths relative to the repository; the first is the primary worker. */
  readonly configs?: readonly string[];
  /** An --env-file (absolute path); default dev/demo.env. null: none. */
  readonly envFile?: string | null;
  /**
   * The dev registry directory (WRANGLER_REGISTRY_PATH), through which separate `wrangler dev`
   * processes reach each other's service bindings. Default: a private one, so that a
   * developer's own `npm start` is never picked up.
   */
  readonly registry?: string;
  readonly timeoutMs?: number;
}

export function startWranglerDev(options: DevOptions = {}): Promise<DevWorker> {
  const work = mkdtempSync(join(tmpdir(), 'killswitch-e2e-dev-'));
  const configs = options.configs ?? ['wrangler.toml'];
  const envFile = options.envFile === undefined ? DEMO_ENV : options.envFile;
  const args = [
    'node_modules/wrangler/bin/wrangler.js', 'dev',
    ...configs.flatMap((c) => ['-c', c]),
    '--ip', '127.0.0.1', '--port', '0', '--inspector-port', '0',
    '--persist-to', join(work, 'state'),
    '--show-interactive-dev-session=false',
    ...(envFile === null ? [] : ['--env-file', envFile]),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_LOG_PATH: work,
      WRANGLER_REGISTRY_PATH: options.registry ?? join(work, 'registry'),
      CI: '1',
      NO_COLOR: '1',
    },
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let output = '';
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const killed = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000);
      await exited;
      clearTimeout(killed);
    }
    rmSync(work, { recursive: true, force: true });
  };
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (Date.now() > deadline) throw new Error(`wrangler dev: no ${pattern} after ${timeoutMs / 1000} s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return new Promise((ready, fail) => {
    const timeoutMs = options.timeoutMs ?? 45_000;
    const timer = setTimeout(() => {
      void stop();
      fail(new Error(`wrangler dev (${configs.join(', ')}) not ready after ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Ready on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        ready({ url: (match[1] as string).replace(/\/$/, ''), output: () => output, waitFor, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`wrangler dev (${configs.join(', ')}) exited (${code}):\n${output}`));
    });
  });
}
