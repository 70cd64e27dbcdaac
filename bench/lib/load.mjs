// @ts-check
// One bounded autocannon run against 127.0.0.1, with our own latency and status accounting.
import autocannon from 'autocannon';
import { processCpuMs } from './direct-socket.mjs';

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
 * @property {number} [cpuPid] the target Worker's own workerd: its CPU time over the run is reported
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
 * @property {number | undefined} cpuMs CPU time (user + system) of process `cpuPid` over the run
 * @property {number | null | undefined} cpuUsPerRequest cpuMs per answered request, in µs
 */

/**
 * @param {LoadOptions} opts
 * @returns {Promise<LoadResult>}
 */
export function runLoad(opts) {
  const { url, connections = 50, durationS, tokens, token, method = 'GET', body, headers = {}, expect, vary, wrap = false, cpuPid } = opts;
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
      // autocannon acts on a stop (its duration, or ours below) at its next sample, once a second
      // by default: runs were whole seconds whatever was asked. Every 50 ms instead.
      sampleInt: 50,
    };
    if (Number.isFinite(maxRequests)) acOpts.amount = maxRequests;
    else acOpts.duration = durationS;
    const started = process.hrtime.bigint();
    const cpuBefore = cpuPid === undefined ? undefined : processCpuMs(cpuPid);
    const instance = autocannon(acOpts, (error, result) => {
      clearTimeout(timer);
      if (error) return reject(error);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpuMs = cpuPid === undefined || cpuBefore === undefined ? undefined : processCpuMs(cpuPid) - cpuBefore;
      resolve(
        summarize(latencies, {
          seconds,
          statuses,
          expected: expect,
          errors: result.errors,
          timeouts: result.timeouts,
          errorMessages,
          poolExhausted: tokens && !wrap ? next >= tokens.length : undefined,
          distinctTokens: tokens ? Math.min(next, tokens.length) : undefined,
          cpuMs,
        }),
      );
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

/**
 * A LoadResult from the latencies of its answered requests and the rest of its counts.
 * `latencies` is kept on the result, not enumerable (out of the results file), for combineLoads.
 * @param {number[]} latencies
 * @param {{ seconds: number, statuses: Record<string, number>, expected: number | undefined, errors: number, timeouts: number, errorMessages: Record<string, number>, poolExhausted: boolean | undefined, distinctTokens: number | undefined, cpuMs: number | undefined }} counts
 * @returns {LoadResult}
 */
function summarize(latencies, counts) {
  const { seconds, statuses, expected, cpuMs } = counts;
  latencies.sort((a, b) => a - b);
  const total = latencies.length;
  const ok = expected === undefined ? total : (statuses[expected] ?? 0);
  const out = {
    requests: total,
    rps: round(total / seconds, 0) ?? 0,
    p50: round(percentile(latencies, 50)),
    p90: round(percentile(latencies, 90)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies[total - 1]),
    unexpected: total - ok,
    ...counts,
    seconds: round(seconds, 3) ?? 0,
    cpuUsPerRequest: cpuMs === undefined ? undefined : total > 0 ? round((1000 * cpuMs) / total, 1) : null,
  };
  Object.defineProperty(out, 'latencies', { value: latencies, enumerable: false });
  return out;
}

/**
 * One LoadResult from the slices of a scenario run in several rounds (bench/lib/run-context.mjs
 * interleave): requests, seconds, statuses and CPU summed, rates over the summed time,
 * percentiles over every slice's latencies.
 * @param {LoadResult[]} parts
 * @returns {LoadResult}
 */
export function combineLoads(parts) {
  /** @param {(r: LoadResult) => Record<string, number>} get */
  const sumCounts = (get) => {
    /** @type {Record<string, number>} */
    const out = {};
    for (const r of parts) for (const [k, n] of Object.entries(get(r))) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  /** @param {(r: LoadResult) => number} get */
  const sum = (get) => parts.reduce((a, r) => a + get(r), 0);
  const cpu = parts.every((r) => r.cpuMs !== undefined) ? sum((r) => /** @type {number} */ (r.cpuMs)) : undefined;
  const poolExhausted = parts.some((r) => r.poolExhausted === undefined) ? undefined : parts.some((r) => r.poolExhausted);
  const distinct = parts.some((r) => r.distinctTokens === undefined) ? undefined : sum((r) => /** @type {number} */ (r.distinctTokens));
  return summarize(
    parts.flatMap((r) => /** @type {{ latencies?: number[] }} */ (r).latencies ?? []),
    {
      seconds: sum((r) => r.seconds),
      statuses: sumCounts((r) => r.statuses),
      expected: parts[0]?.expected,
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      errorMessages: sumCounts((r) => r.errorMessages),
      poolExhausted,
      distinctTokens: distinct,
      cpuMs: cpu,
    },
  );
}

/**
 * What a check costs the peer against what it costs killswitch, counting only the work above
 * the runtime's own per request: (peer − ceiling) ÷ (killswitch − ceiling), in CPU µs per
 * request of each Worker's workerd (bench/README.md, "CPU per request"). ≥ 1: killswitch does
 * less work per request than the peer. null when a side has no CPU figure or killswitch's is not
 * above the ceiling (noise).
 * @param {LoadResult | undefined} peer
 * @param {LoadResult | undefined} killswitch
 * @param {LoadResult | undefined} ceiling
 * @returns {number | null}
 */
export function aboveCeiling(peer, killswitch, ceiling) {
  const [p, k, a] = [peer?.cpuUsPerRequest, killswitch?.cpuUsPerRequest, ceiling?.cpuUsPerRequest];
  if (typeof p !== 'number' || typeof k !== 'number' || typeof a !== 'number' || k <= a) return null;
  return Math.round(((p - a) / (k - a)) * 100) / 100;
}
