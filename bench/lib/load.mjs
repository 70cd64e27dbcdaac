// @ts-check
// One bounded autocannon run against 127.0.0.1, with our own latency and status accounting.
import autocannon from 'autocannon';

/** @param {number[]} sorted @param {number} p */
const percentile = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
/** @param {number | undefined} x @param {number} [d] */
const round = (x, d = 2) => (x !== undefined && Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/**
 * @typedef {object} LoadOptions
 * @property {string} url
 * @property {number} [connections]
 * @property {number} durationS the time bound (also for count-bounded runs)
 * @property {number} [maxRequests] the count bound
 * @property {number} [expect] the status that counts as expected
 * @property {string} [token] one token, repeated
 * @property {string[]} [tokens] rotated, one per request; the run stops when the pool is used up (no token sent twice) unless `wrap`
 * @property {boolean} [wrap]
 * @property {(i: number) => { path?: string, body?: string }} [vary] the i-th request's path and body
 * @property {string} [method]
 * @property {string} [body]
 * @property {Record<string, string>} [headers]
 */

/**
 * @typedef {object} LoadResult latencies in ms (null: no answer at all)
 * @property {number} requests answered requests
 * @property {number} seconds
 * @property {number} rps
 * @property {number | null} p50
 * @property {number | null} p90
 * @property {number | null} p99
 * @property {number | null} max
 * @property {Record<string, number>} statuses
 * @property {number | undefined} expected
 * @property {number} unexpected answers with another status than `expect`
 * @property {number} errors requests without an answer (autocannon's count, timeouts included)
 * @property {number} timeouts
 * @property {Record<string, number>} errorMessages why requests got no answer, by message
 * @property {boolean | undefined} poolExhausted
 * @property {number | undefined} distinctTokens
 */

/**
 * @param {LoadOptions} opts
 * @returns {Promise<LoadResult>}
 */
export function runLoad(opts) {
  const { url, connections = 50, durationS, tokens, token, method = 'GET', body, headers = {}, expect, vary, wrap = false } = opts;
  const maxRequests = tokens && !wrap ? Math.min(opts.maxRequests ?? Infinity, tokens.length) : (opts.maxRequests ?? Infinity);
  let next = 0;
  /** @type {Record<string, string>} */
  const baseHeaders = { ...headers };
  if (token) baseHeaders.authorization = `Bearer ${token}`;
  if (body !== undefined && baseHeaders['content-type'] === undefined) baseHeaders['content-type'] = 'application/json';
  /** @type {import('autocannon').Request} */
  const request = { method, headers: baseHeaders, body };
  if (tokens) {
    request.setupRequest = (req) => {
      const t = tokens[wrap ? next++ % tokens.length : next++];
      if (t === undefined) return req; // pool used up; the count bound stops the run right after
      req.headers = { ...baseHeaders, authorization: `Bearer ${t}` };
      return req;
    };
  } else if (vary) {
    request.setupRequest = (req) => {
      const v = vary(next++);
      if (v.path !== undefined) req.path = v.path;
      if (v.body !== undefined) req.body = v.body;
      return req;
    };
  }
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const statuses = {};
  /** @type {Record<string, number>} */
  const errorMessages = {};
  return new Promise((resolve, reject) => {
    /** @type {import('autocannon').Options} */
    const acOpts = {
      url,
      connections: Math.max(1, Math.min(connections, Number.isFinite(maxRequests) ? maxRequests : connections)),
      pipelining: 1,
      requests: [request],
      timeout: 10,
    };
    if (Number.isFinite(maxRequests)) acOpts.amount = maxRequests;
    else acOpts.duration = durationS;
    const started = process.hrtime.bigint();
    const instance = autocannon(acOpts, (error, result) => {
      clearTimeout(timer);
      if (error) return reject(error);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      latencies.sort((a, b) => a - b);
      const total = latencies.length;
      const ok = expect === undefined ? total : (statuses[expect] ?? 0);
      resolve({
        requests: total,
        seconds: round(seconds, 3) ?? 0,
        rps: round(total / seconds, 0) ?? 0,
        p50: round(percentile(latencies, 50)),
        p90: round(percentile(latencies, 90)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[total - 1]),
        statuses,
        expected: expect,
        unexpected: total - ok,
        errors: result.errors,
        timeouts: result.timeouts,
        errorMessages,
        poolExhausted: tokens && !wrap ? next >= tokens.length : undefined,
        distinctTokens: tokens ? Math.min(next, tokens.length) : undefined,
      });
    });
    // The time bound, also for count-bounded runs.
    const timer = setTimeout(() => instance.stop(), durationS * 1000);
    // Requests that got no status: why (a reset connection, autocannon's timeout …), by message.
    instance.on('reqError', (error) => {
      const message = error instanceof Error ? error.message : String(error);
      errorMessages[message] = (errorMessages[message] ?? 0) + 1;
    });
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}
