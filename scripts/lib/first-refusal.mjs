// @ts-check
// Revoke → first refusal, seen from the caller: used by `npm run probe` (against a deployment)
// and `npm run bench` (against wrangler dev). One sample: the token verifies, POST /v1/revoke
// (or another revoking call, e.g. a Shared Signals push) answers 2xx (the acknowledgement the
// bound runs from), then GET /v1/verify is polled on a fixed cadence until it refuses with a
// revocation reason, and for a while after, to catch a location or isolate that accepts the
// token again.
//
// The admin key and the tokens travel in headers and bodies only: nothing here prints,
// returns or throws them.

/** The reasons that mean "refused because revoked" (src/verify/reasons.ts). */
const REVOCATION_REASONS = new Set(['revoked_token', 'revoked_user', 'revoked_all']);
/** A revocation that answers 503 (stored, not yet propagated) is retried this many times. */
const REVOKE_ATTEMPTS = 4;
const REVOKE_RETRY_MS = 250;
const REQUEST_TIMEOUT_MS = 5_000;
/** Polls after the first refusal, at least (a slow answer must not shrink the confirmation to none). */
const MIN_CONFIRMING_POLLS = 2;

/**
 * The serving location from a `cf-ray` header (`8f1c2d3e4a5b6c7d-FRA` → `FRA`), or `-` when
 * there is none (wrangler dev sets none).
 * @param {Headers} headers
 */
export function locationOf(headers) {
  const ray = headers.get('cf-ray');
  const dash = ray?.lastIndexOf('-') ?? -1;
  return ray && dash > 0 ? ray.slice(dash + 1) : '-';
}

/**
 * @typedef {object} Answer
 * @property {number} status 0 when the request failed (network, timeout)
 * @property {string | undefined} reason the JSON body's `reason`, when there is one
 * @property {string} location
 * @property {number} sentAt performance.now() when sent
 * @property {number} answeredAt performance.now() when the body was read
 */

/**
 * @param {string} url
 * @param {RequestInit} init
 * @returns {Promise<Answer>}
 */
async function ask(url, init) {
  const sentAt = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    let reason;
    try {
      reason = JSON.parse(text)?.reason;
    } catch {
      // not JSON (an empty 200 from /v1/revoke, an HTML error page from a proxy)
    }
    return {
      status: res.status,
      reason: typeof reason === 'string' ? reason : undefined,
      location: locationOf(res.headers),
      sentAt,
      answeredAt: performance.now(),
    };
  } catch {
    return { status: 0, reason: undefined, location: '-', sentAt, answeredAt: performance.now() };
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
/** @param {number} x */
const ms = (x) => Math.round(x * 100) / 100;

/**
 * @typedef {object} RefusalOptions
 * @property {string} baseUrl the Worker, e.g. https://auth.example.com (no trailing slash)
 * @property {string} adminKey for POST /v1/revoke
 * @property {string} token a token that verifies now; it is revoked
 * @property {Revocation} [revocation] how it is revoked (default: POST /v1/revoke with the admin key)
 * @property {boolean} [strict] poll /v1/verify?strict=1
 * @property {number} [intervalMs] poll cadence, start to start (default 20)
 * @property {number} [timeoutMs] give up this long after the acknowledgement (default 10 000)
 * @property {number} [confirmMs] keep polling this long after the first refusal, and at least twice (default 1 000)
 */

/**
 * The call that revokes the token, sent as is (and again on a 503); its 2xx is the
 * acknowledgement the bound runs from. E.g. a Shared Signals push: POST /v1/ssf/{id}/events.
 * @typedef {object} Revocation
 * @property {string} path e.g. /v1/ssf/okta/events
 * @property {Record<string, string>} headers
 * @property {string} body
 */

/**
 * @typedef {object} RefusalSample
 * @property {string | undefined} error why the sample measured nothing (then the rest is partial)
 * @property {number} revokeStatus the last answer to the revocation call (0: no answer)
 * @property {number} revoke503 503 answers to the revocation call (each retried)
 * @property {number | undefined} revokeCallMs the acknowledged call, sent → 2xx
 * @property {string} revokeLocation
 * @property {number | undefined} firstRefusedAfterAckMs when the first refusing poll was sent, after the 2xx
 * @property {number | undefined} refusedAfterAckMs when the poll was sent after which every poll refused
 * @property {number} acceptedAfterRefusal polls that accepted after an earlier one refused
 * @property {string | undefined} refusalReason
 * @property {string | undefined} refusalLocation where the first refusing poll was served
 * @property {number} polls
 * @property {number} verify503 503 answers among the polls
 * @property {number} verifyErrors polls without an answer, or with one that is neither 200, 401 nor 503
 * @property {string[]} locations every location that served a poll
 */

/**
 * One revoke → first refusal sample.
 * @param {RefusalOptions} o
 * @returns {Promise<RefusalSample>}
 */
export async function measureFirstRefusal(o) {
  const intervalMs = o.intervalMs ?? 20;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const confirmMs = o.confirmMs ?? 1_000;
  const verifyUrl = `${o.baseUrl}/v1/verify${o.strict ? '?strict=1' : ''}`;
  // ?strict=1 is an operator's (or PUBLIC_STRICT's): the admin key rides in its own header.
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${o.token}` };
  if (o.strict) headers['killswitch-admin-key'] = o.adminKey;
  const verify = () => ask(verifyUrl, { headers });
  /** @type {RefusalSample} */
  const sample = {
    error: undefined,
    revokeStatus: 0,
    revoke503: 0,
    revokeCallMs: undefined,
    revokeLocation: '-',
    firstRefusedAfterAckMs: undefined,
    refusedAfterAckMs: undefined,
    acceptedAfterRefusal: 0,
    refusalReason: undefined,
    refusalLocation: undefined,
    polls: 0,
    verify503: 0,
    verifyErrors: 0,
    locations: [],
  };
  const locations = new Set();

  const before = await verify();
  if (before.status !== 200) {
    sample.error = `the token did not verify before the revocation: ${before.status} ${before.reason ?? ''}`.trim();
    return sample;
  }

  const revocation = o.revocation ?? {
    path: '/v1/revoke',
    headers: { authorization: `Bearer ${o.adminKey}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: o.token }).toString(),
  };
  let ack;
  for (let attempt = 0; attempt < REVOKE_ATTEMPTS && ack === undefined; attempt++) {
    if (attempt > 0) await sleep(REVOKE_RETRY_MS);
    const rv = await ask(`${o.baseUrl}${revocation.path}`, { method: 'POST', headers: revocation.headers, body: revocation.body });
    sample.revokeStatus = rv.status;
    sample.revokeLocation = rv.location;
    if (rv.status === 503) sample.revoke503++;
    if (rv.status >= 200 && rv.status < 300) {
      ack = rv.answeredAt;
      sample.revokeCallMs = ms(rv.answeredAt - rv.sentAt);
    } else if (rv.status !== 503 && rv.status !== 0) {
      break; // 401 (wrong admin key), 400 …: retrying will not help
    }
  }
  if (ack === undefined) {
    sample.error = `POST ${revocation.path} answered ${sample.revokeStatus || 'nothing'}${sample.revokeStatus === 401 ? ' (is the admin key right?)' : ''}`;
    return sample;
  }

  // Polls start on a fixed grid from the acknowledgement; a slow answer delays the next one only.
  let firstRefusalSent;
  /** When the current run of refusing polls began (undefined while the last poll accepted). */
  let refusingSince;
  let confirming = 0;
  for (let k = 0; ; k++) {
    const due = ack + k * intervalMs;
    const now = performance.now();
    if (due > now) await sleep(due - now);
    const sinceAck = performance.now() - ack;
    if (
      firstRefusalSent === undefined ? sinceAck > timeoutMs : sinceAck > firstRefusalSent + confirmMs && confirming >= MIN_CONFIRMING_POLLS
    )
      break;
    const r = await verify();
    sample.polls++;
    if (firstRefusalSent !== undefined) confirming++;
    locations.add(r.location);
    if (r.status === 200) {
      refusingSince = undefined;
      if (firstRefusalSent !== undefined) sample.acceptedAfterRefusal++;
    } else if (r.status === 401 && r.reason !== undefined && REVOCATION_REASONS.has(r.reason)) {
      refusingSince ??= r.sentAt - ack;
      if (firstRefusalSent === undefined) {
        firstRefusalSent = r.sentAt - ack;
        sample.refusalReason = r.reason;
        sample.refusalLocation = r.location;
      }
    } else if (r.status === 503) {
      sample.verify503++;
    } else {
      sample.verifyErrors++;
      if (r.status === 401) {
        sample.error = `refused for ${r.reason ?? 'an unknown reason'}, not for the revocation`;
        break;
      }
    }
  }
  sample.locations = [...locations].sort();
  if (firstRefusalSent === undefined) {
    sample.error ??= `still accepted ${timeoutMs} ms after the revocation was acknowledged`;
    return sample;
  }
  sample.firstRefusedAfterAckMs = ms(Math.max(0, firstRefusalSent));
  if (refusingSince === undefined) {
    sample.error ??= `accepted again ${confirmMs} ms after the first refusal`;
    return sample;
  }
  sample.refusedAfterAckMs = ms(Math.max(0, refusingSince));
  return sample;
}

/**
 * @param {number[]} values
 * @param {number} p
 */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * p50/p99/max of the samples, and the counts that judge a deployment.
 * @param {RefusalSample[]} samples
 */
export function summarize(samples) {
  const measured = samples.filter((s) => s.refusedAfterAckMs !== undefined);
  /** @param {(s: RefusalSample) => number | undefined} pick */
  const stats = (pick) => {
    const xs = /** @type {number[]} */ (samples.map(pick).filter((x) => x !== undefined));
    return { p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.length ? Math.max(...xs) : undefined };
  };
  /** @type {Record<string, number>} */
  const refusedAt = {};
  for (const s of measured) refusedAt[s.refusalLocation ?? '-'] = (refusedAt[s.refusalLocation ?? '-'] ?? 0) + 1;
  return {
    samples: samples.length,
    measured: measured.length,
    failed: samples.length - measured.length,
    errors: [...new Set(samples.map((s) => s.error).filter((e) => e !== undefined))],
    refusedAfterAckMs: stats((s) => s.refusedAfterAckMs),
    firstRefusedAfterAckMs: stats((s) => s.firstRefusedAfterAckMs),
    revokeCallMs: stats((s) => s.revokeCallMs),
    acceptedAfterRefusal: samples.reduce((n, s) => n + s.acceptedAfterRefusal, 0),
    revoke503: samples.reduce((n, s) => n + s.revoke503, 0),
    verify503: samples.reduce((n, s) => n + s.verify503, 0),
    verifyErrors: samples.reduce((n, s) => n + s.verifyErrors, 0),
    polls: samples.reduce((n, s) => n + s.polls, 0),
    refusalLocations: refusedAt,
  };
}

/** @typedef {ReturnType<typeof summarize>} RefusalSummary */
