// @ts-check
/**
 * The HTTP client of the CLI: one request to the worker, its answer classified into the
 * CLI's exit codes. The admin key is sent only in the Authorization header, and never
 * appears in a message, a --verbose line or an error (see redact() in main.mjs too).
 */
import { CliError, EXIT, usageError } from './errors.mjs';

/**
 * The worker's answer: `body` is its JSON as parsed (or text, or null). Typed `any` on purpose:
 * each route has its own shape (docs/openapi.json), and the CLI only reads the fields it prints.
 * @typedef {{ status: number, body: any, headers: Headers }} Answer
 */

/** @typedef {{ auth?: 'admin' | { bearer: string }, json?: unknown, form?: Record<string, string>, query?: Record<string, string | undefined>, headers?: Record<string, string> }} SendOptions */

/**
 * The worker's base URL, from --url or KILLSWITCH_URL.
 * @param {string | undefined} raw
 */
export function baseUrl(raw) {
  if (raw === undefined || raw.trim() === '') {
    throw usageError('no worker URL: set KILLSWITCH_URL or pass --url (e.g. --url http://127.0.0.1:8787)');
  }
  let url;
  try {
    url = new URL(raw.trim());
  } catch {
    throw usageError(`not a URL: ${JSON.stringify(raw)} (expected e.g. https://killswitch.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`the worker URL must be http(s): ${url.origin}`);
  if (url.username !== '' || url.password !== '') throw usageError('the worker URL must not carry credentials; use KILLSWITCH_ADMIN_KEY');
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** @type {Record<string, string>} */
const NETWORK_CODES = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
};

/** @param {unknown} thrown  what fetch threw */
function networkReason(thrown) {
  const error =
    /** @type {{ code?: string, message?: string, cause?: { code?: string, message?: string, errors?: { code?: string }[] } } | undefined} */ (
      thrown
    );
  const cause = error?.cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code ?? error?.code;
  if (code !== undefined) return `${NETWORK_CODES[code] ?? 'network error'} (${code})`;
  return cause?.message ?? error?.message ?? 'network error';
}

/**
 * Answers worth another try: 503 (a writer or the state could not be reached; nothing was
 * acknowledged, and every killswitch call is safe to repeat) and 429 (a rate limit in front).
 */
const RETRY_STATUSES = new Set([429, 503]);
const RETRY_BASE_MS = 250;
const RETRY_MAX_DELAY_MS = 5_000;
export const DEFAULT_RETRIES = 3;

/**
 * Exponential backoff with jitter (half to all of 250 ms × 2^n), or the server's Retry-After, capped.
 * @param {number} attempt  1 for the first retry
 * @param {string | null} [retryAfter]
 */
function retryDelay(attempt, retryAfter) {
  const seconds = retryAfter === null || retryAfter === undefined ? NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(RETRY_MAX_DELAY_MS, seconds * 1000);
  const ceiling = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Client {
  /**
   * @param {{ url: URL, adminKey?: string, adminKeySource?: string, timeoutMs: number, retries?: number, verbose: (line: string) => void }} options
   */
  constructor({ url, adminKey, adminKeySource, timeoutMs, retries = DEFAULT_RETRIES, verbose }) {
    this.url = url;
    this.adminKey = adminKey;
    this.adminKeySource = adminKeySource;
    this.timeoutMs = timeoutMs;
    this.retries = retries;
    this.verbose = verbose;
  }

  /** The admin key, or a usage error naming where to put it (the key itself is never shown). */
  requireAdminKey() {
    if (this.adminKey === undefined || this.adminKey === '') {
      throw usageError('no admin key: set KILLSWITCH_ADMIN_KEY (or pass --admin-key)');
    }
    return this.adminKey;
  }

  /**
   * One request, tried again (at most `retries` more times, with backoff) on 503, 429 or a
   * connection that failed: a revocation that failed said so, and repeating one is safe.
   * A timeout is not retried: the worker may still be working on it.
   * @param {string} method @param {string} path @param {SendOptions} [options]
   * @returns {Promise<Answer>}
   */
  async request(method, path, options = {}) {
    for (let attempt = 1; ; attempt++) {
      let delay;
      try {
        const answer = await this.send(method, path, options);
        if (!RETRY_STATUSES.has(answer.status) || attempt > this.retries) return answer;
        delay = retryDelay(attempt, answer.headers.get('retry-after'));
        this.verbose(`↻ ${answer.status}: trying again in ${delay} ms (retry ${attempt} of ${this.retries})`);
      } catch (error) {
        // send() marks a connection that failed (not a timeout) as retryable, with its reason.
        const failed = /** @type {CliError & { retryable?: boolean, reason?: string }} */ (error);
        if (!(error instanceof CliError) || failed.retryable !== true || attempt > this.retries) throw error;
        delay = retryDelay(attempt);
        this.verbose(`↻ ${failed.reason}: trying again in ${delay} ms (retry ${attempt} of ${this.retries})`);
      }
      await sleep(delay);
    }
  }

  /**
   * One HTTP exchange. `auth`: 'admin' (the admin key), a token string (the token as Bearer), or none.
   * Returns { status, body, headers }: body parsed as JSON when it is JSON, else text or null.
   * `headers`: extra request headers (never shown by --verbose).
   * @param {string} method @param {string} path @param {SendOptions} [options]
   * @returns {Promise<Answer>}
   */
  async send(method, path, options = {}) {
    const target = new URL(path.replace(/^\//, ''), this.url);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) target.searchParams.set(name, value);
    }
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json', 'User-Agent': 'killswitch-cli', ...options.headers };
    let authNote = '';
    if (options.auth === 'admin') {
      headers.Authorization = `Bearer ${this.requireAdminKey()}`;
      authNote = ` (admin key from ${this.adminKeySource ?? 'configuration'})`;
    } else if (options.auth?.bearer !== undefined) {
      headers.Authorization = `Bearer ${options.auth.bearer}`;
      authNote = ' (token as Bearer)';
    }
    let body;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form !== undefined) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    this.verbose(`→ ${method} ${target.href}${authNote}`);
    const started = Date.now();
    let response;
    try {
      response = await fetch(target, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const timedOut = /** @type {Error | undefined} */ (error)?.name === 'TimeoutError';
      const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : networkReason(error);
      const unreachable = new CliError(`cannot reach the worker at ${this.url.origin}: ${reason}`, EXIT.UNREACHABLE, {
        error: 'unreachable',
      });
      throw Object.assign(unreachable, { retryable: !timedOut, reason });
    }
    const text = await response.text().catch(() => '');
    this.verbose(`← ${response.status} ${response.statusText} (${Date.now() - started} ms, ${text.length} bytes)`);
    /** @type {unknown} */
    let parsed = text === '' ? null : text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  /**
   * A request whose only acceptable answer is 2xx; anything else becomes a CliError.
   * @param {string} method @param {string} path @param {SendOptions} [options]
   */
  async expectOk(method, path, options = {}) {
    const answer = await this.request(method, path, options);
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw failure(answer, options.auth === 'admin');
  }
}

/**
 * The CliError for a non-2xx answer: what went wrong, in the worker's own words.
 * @param {{ status: number, body: any }} answer  (see Answer)
 * @param {boolean} admin  the request carried the admin key
 */
export function failure({ status, body }, admin) {
  const error = typeof body?.error === 'string' ? body.error : undefined;
  const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
  const label = [status, error].filter(Boolean).join(' ');
  const details = { status, ...(error && { error }), ...(description && { error_description: description }) };
  if (status === 401 && admin) {
    return new CliError(
      `the worker refused the admin key (${label}): check KILLSWITCH_ADMIN_KEY or --admin-key`,
      EXIT.UNAUTHORIZED,
      details,
    );
  }
  if (status >= 300 && status < 400) {
    return new CliError(`the worker answered with a redirect (${status}): check the URL (https?)`, EXIT.SERVER, details);
  }
  if (status >= 400 && status < 500) {
    const why =
      description ??
      (status === 404 ? 'no such route: is the URL a killswitch worker?' : status === 413 ? 'request body too large' : 'request refused');
    return new CliError(`the worker refused the request (${label}): ${why}`, EXIT.REJECTED, details);
  }
  if (error === 'server_misconfigured') {
    return new CliError(`the worker is misconfigured (${label}): its log names the setting (wrangler tail)`, EXIT.SERVER, details);
  }
  return new CliError(`the worker failed (${label || status})${description ? `: ${description}` : ''}`, EXIT.SERVER, details);
}
