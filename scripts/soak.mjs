#!/usr/bin/env node
// Soak test (issue 7, item 2): starts the real worker with `wrangler dev` on 127.0.0.1 and drives
// mixed load at it for a while — verifies (cached and ?strict=1) over a pool of tokens, token
// revokes (RFC 7009), user revokes, token-service sessions, refreshes and refresh replays — while
// checking, request by request, the promises of SPEC §4.1 and §6:
//
//   - no token is accepted by a verify sent after its revocation was acknowledged (strict mode,
//     and cached mode too: wrangler dev is one location, where KV reads its own writes);
//   - a user revoke refuses every token of that user issued before the ack;
//   - the ECDSA-malleated twin (r, n − s) of a revoked token is refused as well;
//   - a replayed (already rotated) refresh token is refused, and so is every later refresh of its
//     session; a refresh of a session ended by a user revoke is refused;
//   - no 5xx, no network error; no token, refresh token or admin key in the worker's output;
//   - the worker isolate's JS heap is stable: read through wrangler dev's V8 inspector (Chrome
//     DevTools Protocol: Runtime.getHeapUsage every 2 s, HeapProfiler.collectGarbage before the
//     two readings that are judged), the post-GC used heap at the end of the run may not exceed
//     the post-GC used heap after warm-up by more than 50 % *and* more than 8 MiB. The baseline
//     is taken with the load paused for a moment (no request in flight), the end after the load.
//     If the inspector cannot be reached, the heap is "not measured" (with the reason) and there
//     is no memory verdict. workerd's RSS (VmRSS summed over the workerd processes) is reported
//     for information only: it grows ~30–40 KB per request whatever the route, which is wrangler
//     dev's own stack and not the worker (docs/security.md, "The soak").
// It also counts "wrongly refused" (a token the model says must be accepted, refused): a
// correctness bug rather than a security one, but a bug, so it fails the run too.
//
//   npm run soak                       # 60 s
//   npm run soak -- --seconds 15 --concurrency 24 --json
//
// Exits 0 when every invariant held, 1 on any violation, 2 when the worker could not be started.
// As a module: `import { runSoak } from './scripts/soak.mjs'` (test/e2e/soak.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base64url, importJWK, SignJWT } from 'jose';
import WebSocket from 'ws';
import { commandLine } from './lib/command-line.mjs';
import { DEMO_ADMIN_KEY as ADMIN_KEY, DEMO_ENV, DEMO_ISSUER, ROOT, freePort, startWranglerDev } from './lib/wrangler-dev.mjs';

const DEMO_AUDIENCE = 'api';
/** P-256 group order, for the malleated twin (r, n − s) of an ES256 signature. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

// ---- memory ----------------------------------------------------------------------------------

/** The isolate's post-GC heap may grow by at most this ratio after warm-up… */
export const HEAP_GROWTH_LIMIT = 0.5;
/** …or by at most this much (MiB): a violation needs both. */
export const HEAP_GROWTH_LIMIT_MIB = 8;

/**
 * Attaches to the worker's isolate through wrangler dev's V8 inspector proxy (Chrome DevTools
 * Protocol over WebSocket): lists the targets at http://127.0.0.1:<port>/json and connects to the
 * worker's. Rejects with the reason if it cannot. `send` rejects after `timeoutMs` without an
 * answer, and at once once the connection is closed (`closed()` then says why).
 */
export async function attachToIsolate(port, { timeoutMs = 10_000 } = {}) {
  const listUrl = `http://127.0.0.1:${port}/json`;
  const giveUpAt = Date.now() + timeoutMs;
  let targets;
  for (;;) {
    try {
      const res = await fetch(listUrl, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      targets = await res.json();
      if (Array.isArray(targets) && targets.some((t) => typeof t?.webSocketDebuggerUrl === 'string')) break;
      throw new Error(`no target with a webSocketDebuggerUrl: ${JSON.stringify(targets).slice(0, 200)}`);
    } catch (error) {
      const cause = error?.cause?.code ?? error?.cause?.message;
      if (Date.now() >= giveUpAt) throw new Error(`${listUrl}: ${error?.message ?? error}${cause === undefined ? '' : ` (${cause})`}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  // wrangler lists one target, "Cloudflare Worker": the primary worker's isolate (its Durable
  // Objects run in the same isolate).
  const target = targets.find((t) => typeof t?.webSocketDebuggerUrl === 'string' && /worker/i.test(`${t.title} ${t.description}`))
    ?? targets.find((t) => typeof t?.webSocketDebuggerUrl === 'string');
  const socket = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  await new Promise((open, fail) => {
    const timer = setTimeout(() => {
      socket.terminate();
      fail(new Error(`${target.webSocketDebuggerUrl}: no WebSocket after ${timeoutMs / 1000} s`));
    }, Math.max(1_000, giveUpAt - Date.now()));
    socket.once('open', () => {
      clearTimeout(timer);
      open();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      fail(new Error(`${target.webSocketDebuggerUrl}: ${error.message}`));
    });
  });
  let nextId = 1;
  let closedBecause;
  const pending = new Map();
  const closeAll = (reason) => {
    closedBecause ??= reason;
    for (const [, p] of pending) p.fail(new Error(closedBecause));
    pending.clear();
  };
  socket.on('message', (data) => {
    // Most messages are events (Runtime.consoleAPICalled for every log line): only answers matter.
    const text = data.toString();
    if (!text.startsWith('{"id":')) return;
    let message;
    try { message = JSON.parse(text); } catch { return; }
    const p = pending.get(message.id);
    if (p === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) p.fail(new Error(`${p.method}: ${message.error.message ?? JSON.stringify(message.error)}`));
    else p.done(message.result ?? {});
  });
  socket.on('error', (error) => closeAll(`inspector connection error: ${error.message}`));
  socket.on('close', (code) => closeAll(`inspector connection closed (${code})`));
  return {
    target: `${target.title ?? target.id} (${target.description ?? target.type ?? '?'})`,
    send(method, params = {}, waitMs = 10_000) {
      if (closedBecause !== undefined) return Promise.reject(new Error(closedBecause));
      return new Promise((done, fail) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          fail(new Error(`${method}: no answer after ${waitMs / 1000} s`));
        }, waitMs);
        pending.set(id, {
          method,
          done: (r) => { clearTimeout(timer); done(r); },
          fail: (e) => { clearTimeout(timer); fail(e); },
        });
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    closed: () => closedBecause,
    close() {
      closeAll('inspector connection closed by the soak');
      socket.close();
    },
  };
}

/** `Runtime.getHeapUsage` of the attached isolate: { usedSize, totalSize } in bytes. */
export async function isolateHeapUsage(inspector) {
  const { usedSize, totalSize } = await inspector.send('Runtime.getHeapUsage');
  if (typeof usedSize !== 'number' || typeof totalSize !== 'number') throw new Error('Runtime.getHeapUsage: no usedSize/totalSize');
  return { usedSize, totalSize };
}

/**
 * A full GC in the isolate (`HeapProfiler.collectGarbage`), then its heap usage. V8 runs the GC
 * as a task on the isolate's thread, and workerd runs such tasks only when the isolate next
 * runs: `poke` (a request to the worker) is called every 100 ms until the GC is done. Console
 * messages kept by the inspector (their arguments live in the heap) are discarded first.
 */
export async function isolateHeapAfterGc(inspector, poke, waitMs = 15_000) {
  await inspector.send('Runtime.discardConsoleEntries').catch(() => {});
  const gc = inspector.send('HeapProfiler.collectGarbage', {}, waitMs);
  let done = false;
  const poking = (async () => {
    while (!done) {
      await poke().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await gc;
  } finally {
    done = true;
    await poking;
  }
  return isolateHeapUsage(inspector);
}

/**
 * VmRSS (KiB) summed over the workerd processes of process group `pgid` (Linux /proc). Reported
 * for information only: it is mostly wrangler dev's own stack, not the worker.
 */
export function workerdRssKiB(pgid) {
  let total = 0;
  let processes = 0;
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid || !comm.startsWith('workerd')) continue;
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      if (rss !== null) {
        total += Number(rss[1]);
        processes++;
      }
    } catch {
      // the process went away between readdir and read
    }
  }
  return processes === 0 ? undefined : { kib: total, processes };
}

// ---- tokens ----------------------------------------------------------------------------------

/** The same token with its ES256 signature (r, s) replaced by (r, n − s): also valid. */
function malleatedTwin(token) {
  const [h, p, s] = token.split('.');
  const sig = base64url.decode(s);
  if (sig.length !== 64) return undefined;
  const sValue = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
  const twin = Buffer.concat([Buffer.from(sig.subarray(0, 32)), Buffer.from((P256_N - sValue).toString(16).padStart(64, '0'), 'hex')]);
  return `${h}.${p}.${base64url.encode(twin)}`;
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

// ---- statistics ------------------------------------------------------------------------------

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

class Stats {
  constructor() {
    this.byKind = new Map();
  }

  record(kind, status, ms) {
    let k = this.byKind.get(kind);
    if (k === undefined) this.byKind.set(kind, (k = { count: 0, statuses: {}, latencies: [] }));
    k.count++;
    k.statuses[status] = (k.statuses[status] ?? 0) + 1;
    k.latencies.push(ms);
  }

  summary() {
    const kinds = {};
    const all = [];
    const statuses = {};
    let total = 0;
    for (const [kind, k] of [...this.byKind].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = k.latencies.slice().sort((a, b) => a - b);
      all.push(...k.latencies);
      total += k.count;
      for (const [s, n] of Object.entries(k.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
      kinds[kind] = {
        requests: k.count,
        statuses: k.statuses,
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
      };
    }
    all.sort((a, b) => a - b);
    return { total, statuses, p50Ms: round(percentile(all, 50)), p99Ms: round(percentile(all, 99)), kinds };
  }
}

const round = (x) => Math.round(x * 10) / 10;
/** Bytes to MiB, three decimals (the isolate's heap is a few MiB). */
const mib3 = (bytes) => Math.round((bytes / 1048576) * 1000) / 1000;

// ---- the soak --------------------------------------------------------------------------------

/**
 * Runs the soak and resolves to its summary (`summary.ok` is false on any violation). Always
 * stops the worker it started, whatever happens. Options:
 *   seconds (60), concurrency (32), users (40), maxRequests (seconds × 3000),
 *   warmupSeconds (min(10, seconds / 3)), heapIntervalMs (2000), rssIntervalMs (2000),
 *   log (a line printer, default none),
 *   baseUrl (use an already running worker instead of starting one: no heap and no RSS then).
 */
export async function runSoak(options = {}) {
  const seconds = options.seconds ?? 60;
  const concurrency = options.concurrency ?? 32;
  const userCount = options.users ?? 40;
  const maxRequests = options.maxRequests ?? Math.ceil(seconds * 3000);
  const warmupSeconds = options.warmupSeconds ?? Math.min(10, seconds / 3);
  const rssIntervalMs = options.rssIntervalMs ?? 2000;
  const heapIntervalMs = options.heapIntervalMs ?? 2000;
  const log = options.log ?? (() => {});
  const signal = options.signal;

  const jwk = JSON.parse(readFileSync(join(ROOT, 'dev/demo-issuer.private.jwk.json'), 'utf8'));
  const demoKey = await importJWK(jwk, jwk.alg);

  // Secrets that must never reach the worker's output: every line of it is scanned.
  const secretsSeen = { leaks: 0 };
  const scanForSecrets = (line) => {
    if (line.includes(ADMIN_KEY)) secretsSeen.leaks++;
    for (const m of line.matchAll(/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}|rt1_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/g)) {
      secretsSeen.leaks++;
      if (secretsSeen.sample === undefined) secretsSeen.sample = `${m[0].slice(0, 24)}…`;
    }
  };
  // The real worker with the demo configuration, its own state, log and registry directories,
  // in its own process group (workerd included): RSS is summed over that group. Its V8 inspector
  // on a port of our choosing (wrangler does not print the one it picks for port 0): the
  // isolate's heap is read through it.
  const inspectorPort = options.baseUrl === undefined ? await freePort() : undefined;
  const worker = options.baseUrl === undefined
    ? await startWranglerDev({ name: 'soak', envFile: DEMO_ENV, timeoutMs: 60_000, inspectorPort, onLine: scanForSecrets })
    : undefined;
  if (worker !== undefined) log(`wrangler dev ready on ${worker.url} (pid ${worker.pid}, inspector port ${inspectorPort})`);
  const base = options.baseUrl ?? worker.url;

  const stats = new Stats();
  const violations = [];
  const counters = {
    violations: {},
    wronglyRefused: 0,
    tokensMinted: 0,
    sessionsStarted: 0,
    twinChecks: 0,
    refusedAsExpected: 0,
    acceptedAsExpected: 0,
    unclassified: 0,
  };
  const violate = (kind, detail) => {
    counters.violations[kind] = (counters.violations[kind] ?? 0) + 1;
    if (violations.length < 50) violations.push({ kind, ...detail });
  };

  // ---- model ----
  const runId = Date.now().toString(36);
  const users = Array.from({ length: userCount }, (_, i) => ({
    sub: `soak-${runId}-u${i}`,
    revoking: false, // a user revoke in flight: nothing is minted for the user meanwhile
    minting: 0, // mints in flight: no user revoke starts meanwhile
    revokes: [], // { sentAt, ackAt, revokedBefore, version }
  }));
  /** token records: { token, sub, user, iat, exp, jti, mintedAt, id: { revokeSentAt?, revokeAckAt? }, session? } */
  const pool = [];
  const POOL_MAX = 4000;
  const sessions = []; // { user, refresh, retired: [], lastAccess, createdAt, busy, endedAckAt?, endedSentAt? }
  const SESSIONS_MAX = 600;

  /**
   * Revocation targets a token's identity: its jti, or for a token without one the digest of
   * `header.payload` — so two jti-less tokens of one user minted in the same second are one and
   * the same token to killswitch (revoking either revokes both). The model shares state likewise.
   */
  const identities = new Map();
  const identityOf = (user, token, jti) => {
    const key = jti ?? `${user.sub}|${token.slice(0, token.lastIndexOf('.'))}`;
    let id = identities.get(key);
    if (id === undefined) identities.set(key, (id = {}));
    return id;
  };
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  const addToPool = (record) => {
    if (pool.length >= POOL_MAX) pool.splice(Math.floor(Math.random() * pool.length), 1);
    pool.push(record);
  };
  const now = () => performance.timeOrigin + performance.now();

  let requests = 0;
  const deadline = now() + seconds * 1000;
  const running = () => now() < deadline && requests < maxRequests && !(signal?.aborted ?? false);
  /** While set, the load loops wait on it (the heap baseline is taken with no request in flight). */
  let paused;
  let stepsInFlight = 0;

  /** One HTTP request, timed and counted; 5xx and network errors are violations. */
  async function request(kind, path, init = {}) {
    requests++;
    const sentAt = now();
    let res;
    let body;
    try {
      res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
      body = await res.text();
    } catch (error) {
      stats.record(kind, 'error', now() - sentAt);
      violate('network_error', { request: kind, error: String(error?.message ?? error) });
      return undefined;
    }
    const receivedAt = now();
    stats.record(kind, res.status, receivedAt - sentAt);
    if (res.status >= 500) violate('5xx', { request: kind, status: res.status, body: body.slice(0, 200) });
    let json;
    try { json = body === '' ? undefined : JSON.parse(body); } catch { json = undefined; }
    return { status: res.status, json, sentAt, receivedAt };
  }
  const admin = { Authorization: `Bearer ${ADMIN_KEY}` };
  const form = (fields) => ({
    method: 'POST',
    headers: { ...admin, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  /** A demo-issuer token for `user`, signed here (ES256, kid from the JWK); 1 in 5 without jti. */
  async function mintDemo(user) {
    if (user.revoking) return undefined;
    user.minting++;
    try {
      const iat = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({})
        .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
        .setIssuer(DEMO_ISSUER).setAudience(DEMO_AUDIENCE).setSubject(user.sub)
        .setIssuedAt(iat).setExpirationTime(iat + 900);
      const jti = Math.random() < 0.8 ? crypto.randomUUID() : undefined;
      if (jti !== undefined) jwt.setJti(jti);
      const token = await jwt.sign(demoKey);
      counters.tokensMinted++;
      const record = { token, user, iat, exp: iat + 900, jti, mintedAt: now(), kind: 'demo', id: identityOf(user, token, jti) };
      addToPool(record);
      return record;
    } finally {
      user.minting--;
    }
  }

  function accessRecord(user, token, receivedAt, session) {
    const claims = claimsOf(token);
    const record = {
      token, user, iat: claims.iat, exp: claims.exp, jti: claims.jti, mintedAt: receivedAt, kind: 'access', session,
      id: identityOf(user, token, claims.jti),
    };
    addToPool(record);
    return record;
  }

  /**
   * What the model requires of a verify sent at `sentAt` (answer received at `receivedAt`):
   * 'refuse' (acceptance is a violation), 'accept' (refusal is a bug) or 'either'.
   */
  function expectation(t, sentAt) {
    if (t.id.revokeAckAt !== undefined && t.id.revokeAckAt <= sentAt) return 'refuse';
    let verdict = 'accept';
    for (const r of t.user.revokes) {
      const issuedBefore = t.mintedAt <= r.sentAt; // minting and user revokes never overlap
      if (r.ackAt !== undefined && r.ackAt <= sentAt) {
        if (issuedBefore) return 'refuse';
        if (t.iat <= r.revokedBefore) verdict = 'either'; // same second as the revoke: refused, by design
      } else if (issuedBefore) {
        verdict = 'either'; // in flight, or acknowledged while this verify was on its way
      }
    }
    if (t.id.revokeSentAt !== undefined) verdict = 'either';
    if (sentAt / 1000 > t.exp - 10) verdict = 'either';
    return verdict;
  }

  async function verify(t, strict, twin = false) {
    const token = twin ? malleatedTwin(t.token) : t.token;
    if (token === undefined) return;
    const kind = `${twin ? 'verify-twin' : 'verify'}-${strict ? 'strict' : 'cached'}`;
    const res = await request(kind, strict ? '/v1/verify?strict=1' : '/v1/verify', {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (res === undefined || res.status >= 500) return;
    const expected = expectation(t, res.sentAt);
    if (twin) counters.twinChecks++;
    if (res.status === 200) {
      if (expected === 'refuse') {
        violate(strict ? 'revoked_token_accepted_strict' : 'revoked_token_accepted_cached', {
          sub: t.user.sub, jti: t.jti ?? '(none)', kind: t.kind, twin,
          msAfterAck: Math.round(res.sentAt - Math.min(t.id.revokeAckAt ?? Infinity, ...t.user.revokes.map((r) => r.ackAt ?? Infinity))),
        });
      } else if (expected === 'accept') counters.acceptedAsExpected++;
      else counters.unclassified++;
    } else if (res.status === 401) {
      const reason = res.json?.reason;
      if (expected === 'accept' && !twin) {
        counters.wronglyRefused++;
        violate('wrongly_refused', { request: kind, sub: t.user.sub, jti: t.jti ?? '(none)', reason });
      } else if (expected === 'refuse') {
        counters.refusedAsExpected++;
        if (!['revoked_token', 'revoked_user'].includes(reason) && !(twin && reason === 'bad_signature')) {
          violate('unexpected_reason', { request: kind, reason });
        }
      } else counters.unclassified++;
    } else {
      violate('unexpected_status', { request: kind, status: res.status });
    }
  }

  async function revokeToken(t) {
    if (t.id.revokeSentAt !== undefined) return;
    t.id.revokeSentAt = now();
    const res = await request('revoke-token', '/v1/revoke', form({ token: t.token, token_type_hint: 'access_token' }));
    if (res?.status === 200) t.id.revokeAckAt = res.receivedAt;
    else if (res !== undefined && res.status < 500) violate('unexpected_status', { request: 'revoke-token', status: res.status });
  }

  async function revokeUser(user) {
    if (user.revoking || user.minting > 0) return false;
    user.revoking = true;
    const r = { sentAt: now() };
    user.revokes.push(r);
    try {
      const res = await request('revoke-user', `/v1/admin/users/${encodeURIComponent(user.sub)}/revoke`, {
        method: 'POST', headers: admin, body: JSON.stringify({ reason: 'soak' }),
      });
      if (res?.status === 200) {
        r.ackAt = res.receivedAt;
        r.revokedBefore = res.json.revokedBefore;
        r.version = res.json.version;
        const previous = user.revokes.at(-2)?.version ?? 0;
        if (r.version !== previous + 1) violate('version_not_bumped_by_one', { sub: user.sub, previous, version: r.version });
        // Every session of the user started before the revoke is over.
        for (const s of sessions) if (s.user === user && s.createdAt <= r.sentAt) s.endedAckAt ??= r.ackAt;
      } else if (res !== undefined && res.status < 500) violate('unexpected_status', { request: 'revoke-user', status: res.status });
    } finally {
      user.revoking = false;
    }
    return true;
  }

  async function startSession(user) {
    if (user.revoking || sessions.length >= SESSIONS_MAX) return false;
    user.minting++;
    try {
      const res = await request('session', '/v1/sessions', {
        method: 'POST', headers: admin, body: JSON.stringify({ sub: user.sub, scope: 'read' }),
      });
      if (res?.status !== 200) {
        if (res !== undefined && res.status < 500) violate('unexpected_status', { request: 'session', status: res.status });
        return true;
      }
      counters.sessionsStarted++;
      const session = { user, refresh: res.json.refresh_token, retired: [], createdAt: res.receivedAt, busy: false };
      session.lastAccess = accessRecord(user, res.json.access_token, res.receivedAt, session);
      sessions.push(session);
    } finally {
      user.minting--;
    }
    return true;
  }

  /** A refresh with the session's current token: 200 while the session lives, 400 after it ended. */
  async function refresh(session) {
    const { user } = session;
    if (session.busy || user.revoking) return false;
    session.busy = true;
    user.minting++;
    try {
      const presented = session.refresh;
      const res = await request('refresh', '/v1/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: presented }).toString(),
      });
      if (res === undefined || res.status >= 500) return true;
      const ended = session.endedAckAt !== undefined && session.endedAckAt <= res.sentAt;
      if (res.status === 200) {
        if (ended) violate('refresh_after_session_end_accepted', { sub: user.sub });
        session.retired.push(presented);
        if (session.retired.length > 5) session.retired.shift();
        session.refresh = res.json.refresh_token;
        session.lastAccess = accessRecord(user, res.json.access_token, res.receivedAt, session);
      } else if (res.status === 400 && res.json?.error === 'invalid_grant') {
        if (!ended && session.endedSentAt === undefined) {
          counters.wronglyRefused++;
          violate('wrongly_refused', { request: 'refresh', sub: user.sub });
        }
      } else violate('unexpected_status', { request: 'refresh', status: res.status });
    } finally {
      user.minting--;
      session.busy = false;
    }
    return true;
  }

  /** RFC 9700 §4.14: a rotated refresh token presented again is refused and ends the session. */
  async function replay(session) {
    if (session.busy || session.retired.length === 0) return false;
    session.busy = true;
    try {
      session.endedSentAt ??= now();
      const lastAccess = session.lastAccess;
      if (session.endedAckAt === undefined) lastAccess.id.revokeSentAt ??= now();
      const res = await request('refresh-replay', '/v1/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pick(session.retired) }).toString(),
      });
      if (res === undefined || res.status >= 500) return true;
      if (res.status === 200) violate('refresh_replay_accepted', { sub: session.user.sub });
      else if (res.status === 400 && res.json?.error === 'invalid_grant') {
        if (session.endedAckAt === undefined) {
          session.endedAckAt = res.receivedAt;
          lastAccess.id.revokeAckAt ??= res.receivedAt; // the family's latest access token is denylisted
        }
      } else violate('unexpected_status', { request: 'refresh-replay', status: res.status });
    } finally {
      session.busy = false;
    }
    return true;
  }

  /** RFC 7009 with a refresh token: ends its session and denylists its latest access token. */
  async function revokeSession(session) {
    if (session.busy || session.endedAckAt !== undefined) return false;
    session.busy = true;
    try {
      session.endedSentAt ??= now();
      const lastAccess = session.lastAccess;
      lastAccess.id.revokeSentAt ??= now();
      const res = await request('revoke-refresh', '/v1/revoke', form({ token: session.refresh, token_type_hint: 'refresh_token' }));
      if (res?.status === 200) {
        session.endedAckAt = res.receivedAt;
        lastAccess.id.revokeAckAt ??= res.receivedAt;
      } else if (res !== undefined && res.status < 500) violate('unexpected_status', { request: 'revoke-refresh', status: res.status });
    } finally {
      session.busy = false;
    }
    return true;
  }

  /** Picks a token to verify: half of the time one that the model says must be refused. */
  function verifyTarget() {
    if (Math.random() < 0.5) {
      for (let i = 0; i < 8; i++) {
        const t = pick(pool);
        if (t !== undefined && expectation(t, now()) === 'refuse') return t;
      }
    }
    return pick(pool);
  }

  async function step() {
    const x = Math.random();
    if (x < 0.36) {
      const t = verifyTarget();
      if (t !== undefined) return verify(t, false);
    } else if (x < 0.66) {
      const t = verifyTarget();
      if (t !== undefined) return verify(t, true);
    } else if (x < 0.70) {
      const t = verifyTarget();
      if (t !== undefined && t.kind === 'demo' && t.jti === undefined && expectation(t, now()) === 'refuse') {
        return verify(t, Math.random() < 0.5, true);
      }
    } else if (x < 0.77) {
      if (await mintDemo(pick(users))) return undefined;
    } else if (x < 0.82) {
      const t = pick(pool);
      if (t !== undefined && t.id.revokeSentAt === undefined) return revokeToken(t);
    } else if (x < 0.835) {
      if (await revokeUser(pick(users))) return undefined;
    } else if (x < 0.87) {
      if (await startSession(pick(users))) return undefined;
    } else if (x < 0.95) {
      const s = pick(sessions);
      if (s !== undefined && await refresh(s)) return undefined;
    } else if (x < 0.98) {
      const s = pick(sessions);
      if (s !== undefined && await replay(s)) return undefined;
    } else {
      const s = pick(sessions);
      if (s !== undefined && await revokeSession(s)) return undefined;
    }
    const t = pick(pool);
    if (t !== undefined) return verify(t, Math.random() < 0.5);
    return undefined;
  }

  // ---- memory sampling ----
  // The isolate's JS heap through the V8 inspector: Runtime.getHeapUsage every heapIntervalMs
  // (between GCs, for information), and two post-GC readings that are judged — the baseline once
  // warm-up is over (the load paused and drained for it, a GC forced) and the end (after the
  // load, a GC forced). Both are taken with no request in flight, so they compare like with like.
  // workerd's RSS is sampled alongside, for information only.
  const rss = [];
  const startedAt = now();
  const sinceStart = () => round((now() - startedAt) / 1000);
  const sampleRss = () => {
    if (worker === undefined) return;
    const sample = workerdRssKiB(worker.pid);
    if (sample !== undefined) rss.push({ t: sinceStart(), mib: round(sample.kib / 1024), processes: sample.processes });
  };
  const heap = { measured: false, samples: [], limit: { growth: HEAP_GROWTH_LIMIT, mib: HEAP_GROWTH_LIMIT_MIB } };
  let inspector;
  let heapProblem = worker === undefined ? 'an already running worker (baseUrl): no inspector of ours' : undefined;
  const heapFailed = (what, error) => {
    heapProblem ??= `${what}: ${inspector?.closed() ?? error?.message ?? error}`;
  };
  const heapReading = (usage, gc) => ({ t: sinceStart(), usedMiB: mib3(usage.usedSize), totalMiB: mib3(usage.totalSize), gc });
  let heapSampling = false;
  const sampleHeap = async () => {
    if (inspector === undefined || heapProblem !== undefined || heapSampling) return;
    heapSampling = true;
    try {
      heap.samples.push(heapReading(await isolateHeapUsage(inspector), false));
    } catch (error) {
      heapFailed('Runtime.getHeapUsage', error);
    } finally {
      heapSampling = false;
    }
  };
  const poke = async () => {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
  };
  const heapAfterGc = async (what) => {
    if (inspector === undefined || heapProblem !== undefined) return undefined;
    try {
      const reading = heapReading(await isolateHeapAfterGc(inspector, poke), true);
      heap.samples.push(reading);
      return reading;
    } catch (error) {
      heapFailed(`${what} (HeapProfiler.collectGarbage)`, error);
      return undefined;
    }
  };
  /** Pauses the load, waits until no request is in flight, takes the post-GC baseline, resumes. */
  const takeHeapBaseline = async () => {
    if (inspector === undefined || heapProblem !== undefined || !running()) return;
    let resume;
    paused = new Promise((r) => { resume = r; });
    const pausedAt = now();
    try {
      while (stepsInFlight > 0) await new Promise((r) => setTimeout(r, 5));
      const reading = await heapAfterGc('baseline');
      if (reading !== undefined) heap.baseline = reading;
    } finally {
      heap.pausedMs = Math.round(now() - pausedAt);
      paused = undefined;
      resume();
    }
  };

  let summary;
  try {
    sampleRss();
    if (worker !== undefined) {
      try {
        inspector = await attachToIsolate(inspectorPort);
        heap.inspectorPort = inspectorPort;
        heap.target = inspector.target;
        log(`attached to the isolate through the inspector on port ${inspectorPort}: ${inspector.target}`);
      } catch (error) {
        heapProblem = `V8 inspector not reachable: ${error?.message ?? error}`;
        log(`heap: not measured (${heapProblem}); RSS for information only`);
      }
    }
    await sampleHeap();
    // Seed: a few tokens per user and a session for half of them.
    for (const user of users) for (let i = 0; i < 3; i++) await mintDemo(user);
    await Promise.all(users.filter((_, i) => i % 2 === 0).map((u) => startSession(u)));
    const sampler = setInterval(sampleRss, rssIntervalMs);
    const heapSampler = setInterval(sampleHeap, heapIntervalMs);
    let baselineTaken;
    const baselineTimer = setTimeout(() => { baselineTaken = takeHeapBaseline(); }, Math.max(0, startedAt + warmupSeconds * 1000 - now()));
    const progress = setInterval(() => log(`… ${Math.round((now() - startedAt) / 1000)} s, ${requests} requests`), 10_000);
    try {
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (running()) {
          if (paused !== undefined) {
            await paused;
            continue;
          }
          stepsInFlight++;
          try {
            await step();
          } finally {
            stepsInFlight--;
          }
        }
      }));
    } finally {
      clearInterval(sampler);
      clearInterval(heapSampler);
      clearTimeout(baselineTimer);
      clearInterval(progress);
    }
    await baselineTaken;
    const elapsed = (now() - startedAt) / 1000;
    sampleRss();
    const heapEnd = heap.baseline === undefined ? undefined : await heapAfterGc('end');

    // The isolate's heap: judged on the post-GC readings (baseline after warm-up → end).
    if (heapProblem !== undefined) {
      heap.reason = heapProblem;
    } else if (heap.baseline === undefined || heapEnd === undefined) {
      heap.reason = `run too short: no post-GC baseline after ${round(warmupSeconds)} s of warm-up`;
    } else {
      heap.measured = true;
      heap.end = heapEnd;
      heap.peakUsedMiB = Math.max(...heap.samples.map((x) => x.usedMiB));
      heap.growthMiB = mib3((heapEnd.usedMiB - heap.baseline.usedMiB) * 1024 * 1024);
      heap.growth = Math.round((heapEnd.usedMiB / heap.baseline.usedMiB - 1) * 1000) / 1000;
      if (heap.growth > HEAP_GROWTH_LIMIT && heap.growthMiB > HEAP_GROWTH_LIMIT_MIB) {
        violate('heap_growth', { baselineMiB: heap.baseline.usedMiB, endMiB: heapEnd.usedMiB, growthMiB: heap.growthMiB });
      }
    }
    if (!heap.measured) log(`heap: not measured (${heap.reason}); RSS for information only`);

    // workerd's RSS, for information only: it grows ~30–40 KB per request whatever the route
    // (wrangler dev's own stack, see docs/security.md), so it says little about the worker.
    // V8's heap makes it a sawtooth: the floor of the last third is reported beside the end.
    const afterWarmup = rss.filter((x) => x.t >= warmupSeconds);
    const rssSummary = { samples: rss };
    if (rss.length > 0) {
      rssSummary.startMiB = rss[0].mib;
      rssSummary.peakMiB = Math.max(...rss.map((x) => x.mib));
      rssSummary.endMiB = rss.at(-1).mib;
    }
    if (afterWarmup.length >= 2) {
      rssSummary.baselineMiB = afterWarmup[0].mib;
      const lastThird = afterWarmup.filter((x) => x.t >= elapsed * (2 / 3));
      rssSummary.floorMiB = Math.min(...(lastThird.length > 0 ? lastThird : [afterWarmup.at(-1)]).map((x) => x.mib));
      rssSummary.endGrowth = round((afterWarmup.at(-1).mib / afterWarmup[0].mib - 1) * 100) / 100;
      rssSummary.growthAfterWarmup = round((rssSummary.floorMiB / afterWarmup[0].mib - 1) * 100) / 100;
    }
    const memory = { warmupSeconds: round(warmupSeconds), heap, rss: rssSummary };
    if (secretsSeen.leaks > 0) violate('secret_in_logs', { count: secretsSeen.leaks, sample: secretsSeen.sample });
    const workerOutputTail = violationCountOf(counters) > 0 && worker !== undefined ? worker.output().slice(-4000) : undefined;

    const requestsSummary = stats.summary();
    const violationCount = violationCountOf(counters);
    summary = {
      ok: violationCount === 0,
      seconds: round(elapsed),
      concurrency,
      requestsPerSecond: round(requestsSummary.total / elapsed),
      requests: requestsSummary,
      fiveXX: Object.entries(requestsSummary.statuses).filter(([s]) => Number(s) >= 500).reduce((a, [, n]) => a + n, 0),
      violations: violationCount,
      violationsByKind: counters.violations,
      violationSamples: violations,
      checks: {
        refusedAsExpected: counters.refusedAsExpected,
        acceptedAsExpected: counters.acceptedAsExpected,
        notJudged: counters.unclassified,
        malleatedTwinsChecked: counters.twinChecks,
        userRevokes: users.reduce((a, u) => a + u.revokes.filter((r) => r.ackAt !== undefined).length, 0),
        tokensMinted: counters.tokensMinted,
        sessionsStarted: counters.sessionsStarted,
        sessionsEnded: sessions.filter((s) => s.endedAckAt !== undefined).length,
      },
      memory,
      ...(workerOutputTail === undefined ? {} : { workerOutputTail }),
    };
  } finally {
    inspector?.close();
    await worker?.stop();
  }
  return summary;
}

const pct = (x) => `${x >= 0 ? '+' : ''}${Math.round(x * 100)} %`;
const violationCountOf = (counters) => Object.values(counters.violations).reduce((a, b) => a + b, 0);

/** A human-readable report of a summary. */
export function formatSummary(s) {
  const lines = [];
  lines.push(`soak: ${s.seconds} s, ${s.requests.total} requests (${s.requestsPerSecond}/s), concurrency ${s.concurrency}`);
  lines.push(`latency (all): p50 ${s.requests.p50Ms} ms, p99 ${s.requests.p99Ms} ms; statuses ${JSON.stringify(s.requests.statuses)}`);
  lines.push('');
  lines.push(`${'kind'.padEnd(22)}${'requests'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}  statuses`);
  for (const [kind, k] of Object.entries(s.requests.kinds)) {
    lines.push(`${kind.padEnd(22)}${String(k.requests).padStart(9)}${String(k.p50Ms).padStart(9)}${String(k.p99Ms).padStart(9)}  ${JSON.stringify(k.statuses)}`);
  }
  lines.push('');
  const c = s.checks;
  lines.push(`checks: ${c.refusedAsExpected} refusals of revoked tokens, ${c.acceptedAsExpected} acceptances of live tokens, ` +
    `${c.notJudged} not judged (revocation in flight / same second), ${c.malleatedTwinsChecked} malleated twins`);
  lines.push(`state: ${c.tokensMinted} demo tokens minted, ${c.sessionsStarted} sessions (${c.sessionsEnded} ended), ${c.userRevokes} user revokes`);
  const { heap: h, rss: r } = s.memory;
  const mib = (x) => `${x >= 0 ? '+' : ''}${x} MiB`;
  if (h.measured) {
    lines.push(`heap (worker isolate via the V8 inspector, post-GC used): after ${s.memory.warmupSeconds} s warm-up ${h.baseline.usedMiB} MiB ` +
      `→ end ${h.end.usedMiB} MiB (${pct(h.growth)}, ${mib(h.growthMiB)}; a violation needs both > ${pct(h.limit.growth)} and > +${h.limit.mib} MiB); ` +
      `peak between GCs ${h.peakUsedMiB} MiB; load paused ${h.pausedMs} ms for the baseline`);
    lines.push(`  samples (s: used/total MiB, * post-GC): ${h.samples.map((x) => `${x.t}: ${x.usedMiB}/${x.totalMiB}${x.gc ? '*' : ''}`).join(', ')}`);
  } else {
    lines.push(`heap: not measured (${h.reason}); no memory verdict, RSS below for information only`);
  }
  if (r.startMiB !== undefined) {
    lines.push(`workerd RSS (information only: mostly wrangler dev's own stack): start ${r.startMiB} MiB, peak ${r.peakMiB} MiB, end ${r.endMiB} MiB` +
      (r.growthAfterWarmup === undefined ? ''
        : `; after warm-up ${r.baselineMiB} MiB → floor of the last third ${r.floorMiB} MiB (${pct(r.growthAfterWarmup)}), end ${pct(r.endGrowth)}`));
    lines.push(`  samples (s: MiB): ${r.samples.map((x) => `${x.t}: ${x.mib}`).join(', ')}`);
  } else {
    lines.push('workerd RSS: not sampled');
  }
  lines.push(`5xx: ${s.fiveXX}`);
  lines.push(`invariant violations: ${s.violations}${s.violations === 0 ? '' : ` ${JSON.stringify(s.violationsByKind)}`}`);
  for (const v of s.violationSamples.slice(0, 10)) lines.push(`  ${JSON.stringify(v)}`);
  if (s.workerOutputTail !== undefined) lines.push('', 'wrangler dev output (tail):', s.workerOutputTail);
  lines.push(s.ok ? 'OK' : 'FAILED');
  return lines.join('\n');
}

// ---- command line ----------------------------------------------------------------------------

async function main() {
  const usage = 'usage: npm run soak -- [--seconds 60] [--concurrency 32] [--users 40] [--max-requests N] [--json]';
  const { values, integer } = commandLine(usage, {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '32' },
    users: { type: 'string', default: '40' },
    'max-requests': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const controller = new AbortController();
  // Ctrl-C ends the load early; runSoak's finally stops wrangler dev. A second one exits at once.
  process.once('SIGINT', () => {
    console.error('\nSIGINT: stopping…');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  process.once('SIGTERM', () => controller.abort());
  let summary;
  try {
    summary = await runSoak({
      seconds: integer('seconds', 1, 86_400),
      concurrency: integer('concurrency', 1, 256),
      users: integer('users', 1, 10_000),
      maxRequests: values['max-requests'] === undefined ? undefined : integer('max-requests', 1, 1e9),
      signal: controller.signal,
      log: (line) => console.error(line),
    });
  } catch (error) {
    console.error(`soak: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  }
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  process.exitCode = summary.ok && !controller.signal.aborted ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
