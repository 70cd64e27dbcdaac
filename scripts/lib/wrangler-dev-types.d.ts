/** Types of scripts/lib/wrangler-dev.mjs (its JSDoc imports them; the e2e tests import them from it). */

export interface WranglerDevOptions {
  /** For error messages; default the configs, or "wrangler dev". */
  readonly name?: string;
  /** Where wrangler runs (relative configs and the default wrangler.toml are found here); default ROOT. */
  readonly cwd?: string;
  /** wrangler's bin/wrangler.js; default this repository's. */
  readonly wranglerBin?: string;
  /** `-c` for each, in order (several: the first is the primary worker); default none (cwd's wrangler.toml). */
  readonly configs?: readonly string[];
  /** `--env-file` (absolute, or relative to cwd); default null: none. */
  readonly envFile?: string | null;
  /** `--var NAME:VALUE` for each. */
  readonly vars?: readonly string[];
  /** `--port`; default 0: wrangler binds a free port itself, and `url` has the real one. */
  readonly port?: number;
  /**
   * `--inspector-port`: wrangler's V8 inspector proxy (Chrome DevTools Protocol; targets listed
   * at http://127.0.0.1:<port>/json). Default 0: a free port chosen by wrangler, which it does not
   * print — pass a fixed free port (see freePort()) to connect to it.
   */
  readonly inspectorPort?: number;
  /** `--persist-to`; default a directory in the worker's temporary directory. */
  readonly persistTo?: string;
  /** WRANGLER_LOG_PATH; default the worker's temporary directory. */
  readonly logDir?: string;
  /**
   * The dev registry directory (WRANGLER_REGISTRY_PATH), through which separate `wrangler dev`
   * processes reach each other's service bindings. Default: a private one, so that a
   * developer's own `npm start` is never picked up.
   */
  readonly registry?: string;
  /** How long to wait for "Ready on"; default 60 000 ms. */
  readonly timeoutMs?: number;
  /** Called with every non-empty line wrangler prints (stdout and stderr), from the start. */
  readonly onLine?: (line: string) => void;
}

export interface WranglerDev {
  readonly name: string;
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /** The wrangler process, leader of the process group that workerd runs in. */
  readonly pid: number;
  /** The last lines wrangler printed (bounded; per-request log lines only while it is short). */
  output(): string;
  /** Resolves once wrangler has printed something matching `pattern` (default timeout 30 s). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** "Reloading local server" / "Local server updated" lines after ready. */
  reloads(): number;
  reloadLines(): string[];
  /** SIGTERM to the group, SIGKILL 5 s later if need be; removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}
