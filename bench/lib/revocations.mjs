// @ts-check
// Scenarios that revoke: F (tokens revoked beforehand through POST /v1/revoke, then verified
// under load), user revokes (one sub N times must land as exactly +N), and revoke → first
// refusal per mode, measured the way `npm run probe` measures a deployment.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { measureFirstRefusal, summarize } from '../../scripts/lib/first-refusal.mjs';
import { runLoad } from './load.mjs';
import { MODES } from './modes.mjs';
import { AUDIENCE } from './tokens.mjs';
import { bearer, getJson } from './http.mjs';

/**
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 */
export async function revokedTokens(run, setup) {
  const { results, plan, fits, runCostS, measure, log, warn } = run;
  for (const alg of plan.revokedAlgs) {
    for (const [mode, worker] of Object.entries(setup.ks)) {
      const P = setup.pools[alg];
      if (!P || !fits(`${alg} F ${mode}`, runCostS() + plan.revokePool / 25 + 5)) continue;
      const r = await runLoad({
        url: `${worker.url}/v1/revoke`,
        method: 'POST',
        connections: 50,
        durationS: 60,
        maxRequests: P.F.length,
        expect: 200,
        headers: { ...bearer(setup.adminKey), 'content-type': 'application/x-www-form-urlencoded' },
        vary: (/** @type {number} */ i) => ({ body: `token=${P.F[i % P.F.length]}` }),
      });
      const ok = r.statuses[200] ?? 0;
      const noAnswer = Object.keys(r.errorMessages).length ? `; no answer: ${JSON.stringify(r.errorMessages)}` : '';
      log(
        `${alg} ${mode}: revoked ${ok}/${P.F.length} tokens via POST /v1/revoke at ${r.rps}/s (p50 ${r.p50} ms; statuses ${JSON.stringify(r.statuses)}${noAnswer})`,
      );
      // Calls without a 2xx (a reset connection, a 503) are retried one at a time: F needs every token revoked.
      const retried = ok === P.F.length ? undefined : await revokeUnrefused(`${worker.url}`, setup.adminKey, P.F);
      (results.revokeApi[mode] ??= {})[alg] = { ...r, retried };
      if (retried) {
        const how = `${retried.stillAccepted} of ${P.F.length} still accepted after the load; retried one at a time: ${JSON.stringify(retried.statuses)}`;
        (retried.failed > 0 ? warn : log)(
          `${alg} ${mode}: ${P.F.length - ok} revocations got no 200 under load (${JSON.stringify(r.statuses)}${noAnswer}); ${how}`,
        );
      }
      results.scenarios[alg][mode].F = await measure(`${alg} F ${mode}, revoked (pool of ${P.F.length})`, {
        url: `${worker.url}/v1/verify`,
        tokens: P.F,
        wrap: true,
        expect: 401,
        cpuPid: worker.workerdPid,
      });
    }
  }
}

/**
 * Revokes, one call at a time, every token of `tokens` that still verifies (idempotent: a
 * token revocation is safe to retry). What the calls answered, and how many were left.
 * @param {string} base
 * @param {string} adminKey
 * @param {string[]} tokens
 */
async function revokeUnrefused(base, adminKey, tokens) {
  /** @type {Record<string, number>} */
  const statuses = {};
  let stillAccepted = 0;
  let failed = 0;
  for (const token of tokens) {
    const check = await fetch(`${base}/v1/verify`, { headers: bearer(token) });
    await check.arrayBuffer();
    if (check.status !== 200) continue;
    stillAccepted++;
    const status = await fetch(`${base}/v1/revoke`, {
      method: 'POST',
      headers: { ...bearer(adminKey), 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    }).then(
      async (res) => {
        await res.arrayBuffer();
        return String(res.status);
      },
      (/** @type {any} */ error) => String(error?.cause?.code ?? error),
    );
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== '200') failed++;
  }
  return { stillAccepted, statuses, failed };
}

/**
 * One sub revoked N times at concurrency 50: the version must rise by exactly the 200s. Then N
 * subs once each. In cached mode (the writer path is the same in every mode).
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 */
export async function userRevokes(run, setup) {
  const { results, plan, fits, remainingS, log, warn } = run;
  if (!fits('user revokes', 3)) return;
  const base = setup.ks.cached.url;
  const admin = bearer(setup.adminKey);
  const n = plan.userRevokes;
  const hot = `bench-hot-${randomUUID()}`;
  const before = (await getJson(`${base}/v1/admin/users/${hot}`, { headers: admin })).version ?? 0;
  const one = await runLoad({
    url: `${base}/v1/admin/users/${hot}/revoke`,
    method: 'POST',
    connections: 50,
    durationS: 60,
    maxRequests: n,
    headers: admin,
    body: '{"reason":"bench"}',
    expect: 200,
  });
  const after = (await getJson(`${base}/v1/admin/users/${hot}`, { headers: admin })).version;
  const ok = one.statuses[200] ?? 0;
  results.userRevoke.oneSub = {
    calls: n,
    ok200: ok,
    versionBefore: before,
    versionAfter: after,
    exact: after - before === ok && ok === n,
    ...one,
  };
  log(
    `user revoke, one sub: ${n} calls, ${ok} × 200 at ${one.rps}/s (p50 ${one.p50} ms, p99 ${one.p99} ms); version ${before} → ${after} ${after - before === ok ? '(exact)' : '(MISMATCH)'}`,
  );
  if (after - before !== ok) warn(`one-sub user revoke: ${ok} successful calls but version rose by ${after - before}`);
  if (!fits(`user revoke, ${n} subs`, 2)) return;
  const prefix = `bench-many-${randomUUID().slice(0, 8)}`;
  const many = await runLoad({
    url: `${base}/v1/admin/users/x/revoke`,
    method: 'POST',
    connections: 50,
    durationS: Math.max(2, Math.min(60, remainingS() - 3)),
    maxRequests: n,
    headers: admin,
    body: '{"reason":"bench"}',
    expect: 200,
    vary: (/** @type {number} */ i) => ({ path: `/v1/admin/users/${prefix}-${i}/revoke` }),
  });
  results.userRevoke.manySubs = { calls: n, subs: n, ok200: many.statuses[200] ?? 0, ...many };
  log(`user revoke, ${n} subs: ${many.statuses[200] ?? 0} × 200 at ${many.rps}/s (p50 ${many.p50} ms, p99 ${many.p99} ms)`);
}

/**
 * Revoke → first refusal per mode: a fresh ES256 token verifies, POST /v1/revoke, then
 * /v1/verify every 20 ms until it refuses (scripts/lib/first-refusal.mjs, as npm run probe).
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 */
export async function firstRefusal(run, setup) {
  for (const [mode, worker] of Object.entries(setup.ks)) {
    const r = await refusalSamples(run, setup, { what: 'revoke → first refusal', mode, worker, ack: '2xx' });
    if (r) run.results.firstRefusal[mode] = r;
  }
}

/**
 * plan.refusalSamples samples on one Worker, each with a token of a user of its own (issued a
 * second ago: a security event revokes tokens issued up to the event, in seconds), revoked by
 * POST /v1/revoke or by `revocationFor(sub)`; summarized, logged and judged against the bound.
 * Undefined when it did not fit the time budget.
 * @param {import('./run-context.mjs').Run} run
 * @param {import('./matrix.mjs').Setup} setup
 * @param {{ what: string, mode: string, worker: import('./workers.mjs').BenchWorker, ack: string,
 *   revocationFor?: (sub: string) => Promise<import('../../scripts/lib/first-refusal.mjs').Revocation> }} o
 */
export async function refusalSamples(run, setup, { what, mode, worker, ack, revocationFor }) {
  const { plan, fits, log, warn } = run;
  const key = setup.keys.ES256;
  const confirmMs = run.quick ? 100 : 300;
  if (!fits(`${what} (${mode})`, plan.refusalSamples * (0.3 + confirmMs / 1000))) return undefined;
  const samples = [];
  for (let i = 0; i < plan.refusalSamples; i++) {
    const sub = `refusal-${randomUUID()}`;
    const iat = Math.floor(Date.now() / 1000) - 1;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(key.issuer)
      .setAudience(AUDIENCE)
      .setSubject(sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .setJti(randomUUID())
      .sign(key.signKey);
    const revocation = revocationFor ? await revocationFor(sub) : undefined;
    samples.push(
      await measureFirstRefusal({ baseUrl: worker.url, adminKey: setup.adminKey, token, intervalMs: 20, confirmMs, revocation }),
    );
  }
  const summary = summarize(samples);
  const boundMs = MODES.find((m) => m.id === mode)?.boundMs;
  const r = summary.refusedAfterAckMs;
  const c = summary.revokeCallMs;
  log(
    `${what} (${mode}): p50 ${r.p50} / p99 ${r.p99} / max ${r.max} ms after the ${ack} (call p50 ${c.p50} / p99 ${c.p99} ms); ${summary.measured}/${summary.samples} refused${summary.acceptedAfterRefusal ? `, ${summary.acceptedAfterRefusal} accepted again after a refusal` : ''}`,
  );
  if (summary.failed > 0) warn(`${what} (${mode}): ${summary.failed} sample(s) failed: ${summary.errors.join('; ')}`);
  if (boundMs !== undefined && (r.max ?? Infinity) > boundMs) warn(`${what} (${mode}): max ${r.max} ms exceeds the ${boundMs} ms bound`);
  return { boundMs, confirmMs, ...summary, each: samples };
}
