#!/usr/bin/env node
// @ts-check
// `npm run bench [-- --quick] [-- --proxied]`: killswitch in each revocation mode against the
// runtime ceiling and verify-only peers, under `wrangler dev` (workerd) on 127.0.0.1, load from
// autocannon sent to each Worker's own workerd socket (or, --proxied, through wrangler dev's
// proxy). Method and figures: bench/README.md.
//
// The steps, in order (each a module of bench/lib/):
//   plan.mjs → workers.mjs (start, find sockets, detect optional modes) → matrix.mjs (A–D, G)
//   → state-reads.mjs → scale.mjs → revocations.mjs (F, user revokes, first refusal)
//   → report.mjs (ratios, table). Results: stdout + bench/results/<timestamp>.json, latest.json.
// Everything it starts (wrangler dev process groups, the JWKS thread) is stopped on the way
// out, also on error and on SIGINT/SIGTERM.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { forgedRefreshScenario } from './lib/forged-refresh.mjs';
import { seedDenylist } from './lib/denylist.mjs';
import { startJwksServer } from './lib/jwks-server.mjs';
import { gitInfo, loadAverage, machineInfo } from './lib/machine.mjs';
import { runMatrix, sanityCheck } from './lib/matrix.mjs';
import { COMMON_ENV, MODES } from './lib/modes.mjs';
import { readCommandLine } from './lib/plan.mjs';
import { realTraffic } from './lib/real-traffic.mjs';
import { poolSizer } from './lib/pools.mjs';
import { computeRatios, renderSummary, renderTable } from './lib/report.mjs';
import { firstRefusal, revokedTokens, userRevokes } from './lib/revocations.mjs';
import { createRun } from './lib/run-context.mjs';
import { DENYLIST_SIZE, prepareDenylist, prepareFeedSnapshot, scale } from './lib/scale.mjs';
import { makeTransmitter, pushFirstRefusal } from './lib/ssf-push.mjs';
import { stateReads } from './lib/state-reads.mjs';
import { ALGS, AUDIENCE, makeKeys, makePool, trustedIssuers } from './lib/tokens.mjs';
import { acceptsMode, snapshotApp, workerStarter, writeEnvFile } from './lib/workers.mjs';
import { stopAll, wranglerBinIn } from '../scripts/lib/wrangler-dev.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const DENYLIST_CACHE = join(BENCH_DIR, '.cache', `denylist-${DENYLIST_SIZE}`);

const cli = readCommandLine();
if (cli.seedDenylist) {
  console.log(`seeding ${DENYLIST_SIZE} denylist entries into ${DENYLIST_CACHE} …`);
  const r = await seedDenylist(DENYLIST_CACHE, DENYLIST_SIZE, { log: console.log });
  console.log(`done: ${r.count} entries in ${(r.ms / 1000).toFixed(1)} s`);
  process.exit(0);
}

const run = createRun({
  plan: cli.plan,
  quick: cli.quick,
  path: cli.proxied ? 'proxied' : 'direct',
  machine: machineInfo(ROOT),
  git: gitInfo(ROOT),
});
const { results, log, note } = run;

// Always clean up. (A last resort on process 'exit' is scripts/lib/wrangler-dev.mjs's own.)
/** @type {{ base: string, close(): Promise<unknown> } | undefined} */
let jwksServer;
/** @type {string | undefined} */
let tmp;
/** @type {Promise<void> | undefined} */
let cleaning;
async function cleanup() {
  cleaning ??= (async () => {
    await stopAll();
    await jwksServer?.close();
    // workerd may still be flushing its state files as it exits: retry the removal.
    if (tmp) rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, async () => {
    console.error(`\n[bench] ${signal}: stopping everything it started`);
    await cleanup();
    process.exit(130);
  });
}

async function main() {
  tmp = mkdtempSync(join(tmpdir(), 'killswitch-bench-'));
  const work = tmp;
  const logDir = join(work, 'wrangler-logs');
  mkdirSync(logDir);
  const m = results.machine;
  log(`${results.mode} run; machine: ${m.nproc} × ${m.cpuModel}, node ${m.node}, load ${m.loadavgAtStart?.join(' ')}`);
  if (results.git?.srcDirty && !cli.ref)
    note('src/ had uncommitted changes at bench start (the run measured that snapshot of the work tree)');

  // Keys and configuration: the same for every mode but the mode itself.
  const keys = await makeKeys();
  // The token service on, for the forged-refresh scenario (a signing key of its own).
  const tokenSigning = await generateKeyPair('ES256', { extractable: true });
  const tokenSigningJwk = { ...(await exportJWK(tokenSigning.privateKey)), kid: 'bench-token-service-1', alg: 'ES256' };
  const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
  // A Shared Signals transmitter (its stream in every Worker's SSF_STREAMS), for push → first refusal.
  const transmitter = await makeTransmitter(keys.ES256.issuer);
  const hmacVar = 'BENCH_HMAC_SECRET';
  /** @param {string} name @param {Record<string, string>} vars */
  const ksEnv = (name, vars) =>
    writeEnvFile(join(work, `${name}.env`), {
      TRUSTED_ISSUERS: JSON.stringify(trustedIssuers(keys, hmacVar)),
      ADMIN_API_KEYS: adminKey,
      [hmacVar]: /** @type {string} */ (keys.HS256.secret),
      LOG_ACCEPTED: 'false',
      TOKEN_SIGNING_KEYS: JSON.stringify([tokenSigningJwk]),
      ...transmitter.env,
      ...COMMON_ENV,
      ...vars,
    });
  const jwks = Object.fromEntries(ALGS.filter((a) => a !== 'HS256').map((a) => [a, { keys: [keys[a].publicJwk] }]));
  jwksServer = await startJwksServer(jwks);
  const peerEnv = writeEnvFile(join(work, 'peers.env'), {
    PEER_CONFIG: JSON.stringify({
      jwksBase: jwksServer.base,
      algs: Object.fromEntries(
        ALGS.map((a) => [
          a,
          {
            issuer: keys[a].issuer,
            audience: AUDIENCE,
            ...(a === 'HS256' ? { secret: keys[a].octK } : { publicJwk: keys[a].publicJwk }),
          },
        ]),
      ),
    }),
  });
  const scaleSeeds = {
    'kv-denylist': prepareDenylist(run, DENYLIST_CACHE, work),
    'feed-snapshot': prepareFeedSnapshot(work).catch((error) => {
      run.warn(`bounded scale seed failed: ${error}`);
      return undefined;
    }),
  };

  // Workers: the peers, killswitch per mode, cached with LOG_ACCEPTED=true, a counting one per mode.
  const snap = snapshotApp({ root: ROOT, benchDir: BENCH_DIR, dest: join(work, 'app'), ref: cli.ref });
  if (cli.ref && results.git)
    results.git.measuredRef = {
      ref: cli.ref,
      commit: execFileSync('git', ['rev-parse', '--short', cli.ref], { cwd: ROOT }).toString().trim(),
    };
  const start = workerStarter({ wranglerBin: wranglerBinIn(ROOT), logDir, tmp: work, proxied: cli.proxied });
  let logLines = 0;
  const modeEnv = Object.fromEntries(MODES.map((mode) => [mode.id, ksEnv(`killswitch-${mode.id}`, mode.env)]));
  const [peers, ksLog, ...modeWorkers] = await Promise.all([
    start('peers', join(BENCH_DIR, 'peers'), { envFile: peerEnv }),
    run.plan.logAlgs.length > 0
      ? start('killswitch-log', snap, {
          envFile: ksEnv('killswitch-log', { REVOCATION_MODE: 'cached', LOG_ACCEPTED: 'true' }),
          onLine: () => {
            logLines++;
          },
        })
      : undefined,
    ...MODES.flatMap((mode) => [
      start(`killswitch-${mode.id}`, snap, { envFile: modeEnv[mode.id] }),
      start(`killswitch-counting-${mode.id}`, join(snap, 'counting'), { envFile: modeEnv[mode.id] }),
    ]),
  ]);
  /** @type {Record<string, string[]>} */
  const checkTokens = Object.fromEntries(
    await Promise.all(ALGS.map(async (alg) => [alg, await makePool(keys[alg], 200, { subPrefix: 'check' })])),
  );
  /** @type {Record<string, import('./lib/workers.mjs').BenchWorker>} */
  const ks = {};
  /** @type {Record<string, import('./lib/workers.mjs').BenchWorker>} */
  const counting = {};
  for (const [i, mode] of MODES.entries()) {
    const [worker, counter] = [modeWorkers[2 * i], modeWorkers[2 * i + 1]];
    const accepted = mode.optional ? await acceptsMode(worker, checkTokens.ES256[0]) : { ok: true };
    if (accepted.ok) {
      ks[mode.id] = worker;
      counting[mode.id] = counter;
      results.modes.push(mode.id);
    } else {
      results.modesUnavailable[mode.id] = 'why' in accepted ? accepted.why : '';
      log(`${mode.id}: not available in this build (${results.modesUnavailable[mode.id]})`);
      await Promise.all([worker.stop(), counter.stop()]);
    }
  }
  for (const w of [peers, ...Object.values(ks)]) results.targets[w.name] = { url: w.url, publicUrl: w.publicUrl };
  log(
    `workers ready; load goes to ${cli.proxied ? "wrangler dev's public port (its proxy)" : "each Worker's own workerd socket, skipping wrangler dev's proxy"}:`,
  );
  for (const w of [peers, ...Object.values(ks), ...(ksLog ? [ksLog] : [])])
    log(`  ${w.name.padEnd(24)} ${w.url}  (${w.via}; public ${w.publicUrl})`);

  /** @type {import('./lib/matrix.mjs').Setup} */
  const setup = { peers, ks, ksLog, keys, adminKey, checkTokens, pools: {}, sizer: poolSizer(run.plan, run.quick) };
  await sanityCheck(setup);
  log(`sanity checks passed (valid → 200, forged → 401 bad_signature, on every mode and every peer)`);

  await runMatrix(run, setup);
  await realTraffic(run, setup);
  await stateReads(run, setup, counting);
  // Forged refresh tokens: 400 invalid_grant without touching a Durable Object (issue 10, item 17).
  if (ks.cached && run.fits('forged refresh tokens', run.runCostS() + 3)) {
    const r = await forgedRefreshScenario({
      url: ks.cached.url,
      countingUrl: counting.cached?.url,
      connections: run.plan.connections,
      durationS: run.plan.durationS,
    });
    results.forgedRefresh = r;
    log(`forged refresh tokens: ${r.rps} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms) ${JSON.stringify(r.statuses)}`);
    if (r.unexpected > 0) run.warn(`forged refresh tokens: ${r.unexpected} answers other than 400`);
    const calls = /** @type {{ counts?: Record<string, number> } | undefined} */ (r.stateCallsFor200)?.counts;
    if (calls && Object.entries(calls).some(([name, n]) => /state/i.test(name) && n > 0))
      run.warn(`forged refresh tokens reached a Durable Object: ${JSON.stringify(calls)}`);
  }
  await Promise.all(Object.values(counting).map((w) => w.stop()));
  await scale(run, setup, scaleSeeds, (name, mode, persistTo) => start(name, snap, { envFile: modeEnv[mode], persistTo }));
  await revokedTokens(run, setup);

  // Logging on (cached mode): C per alg, D for ES256.
  if (ksLog) {
    for (const alg of run.plan.logAlgs) {
      const P = setup.pools[alg];
      if (!P || !run.fits(`${alg} C with LOG_ACCEPTED=true`, run.runCostS() + 12)) continue;
      const before = logLines;
      const r = await run.measure(
        `${alg} C cached, LOG_ACCEPTED=true`,
        { url: `${ksLog.url}/v1/verify`, tokens: P.C, expect: 200, cpuPid: ksLog.workerdPid },
        { tokens: P.warm2 },
      );
      results.scenarios[alg].C_log = {
        ...r,
        outputLinesPerRequest: Math.round(((logLines - before) / Math.max(1, r.requests)) * 100) / 100,
      };
    }
    if (setup.pools.ES256 && run.fits('ES256 D with LOG_ACCEPTED=true', run.runCostS() + 12)) {
      results.scenarios.ES256.D_log = await run.measure('ES256 D cached, LOG_ACCEPTED=true', {
        url: `${ksLog.url}/v1/verify`,
        token: checkTokens.ES256[0],
        expect: 200,
        cpuPid: ksLog.workerdPid,
      });
    }
  }

  await userRevokes(run, setup);
  await firstRefusal(run, setup);
  await pushFirstRefusal(run, setup, transmitter);

  for (const w of [peers, ...Object.values(ks)])
    if (w.reloads() > 0) run.warn(`${w.name} reloaded ${w.reloads()} time(s) during the run: ${w.reloadLines().join(' | ')}`);
  results.logOutputLines = logLines;
}

/** @type {unknown} */
let failed;
try {
  await main();
} catch (error) {
  failed = error;
  console.error(`[bench] failed: ${error instanceof Error ? error.stack : error}`);
}
await cleanup();
computeRatios(results);
results.finishedAt = new Date().toISOString();
results.machine.loadavgAtEnd = loadAverage();
results.totalSeconds = Math.round((Date.now() - run.t0) / 100) / 10;
if (failed) results.error = failed instanceof Error ? failed.message : String(failed);
results.table = renderTable(results);
results.summary = renderSummary(results);
console.log(`\n${results.table}\n\n${results.summary}\n`);
const m = results.machine;
console.log(
  `machine: ${m.nproc} × ${m.cpuModel}, node ${m.node}, load average ${m.loadavgAtStart?.[0]} at start / ${m.loadavgAtEnd?.[0]} at end; ${results.mode} run in ${results.totalSeconds} s${results.skipped.length ? `; skipped (time budget): ${results.skipped.join(', ')}` : ''}${results.warnings.length ? `; ${results.warnings.length} warning(s)` : ''}`,
);
const resultsDir = join(BENCH_DIR, 'results');
mkdirSync(resultsDir, { recursive: true });
const stamp = `${results.startedAt.replace(/[:.]/g, '-')}${cli.quick ? '-quick' : ''}`;
const json = `${JSON.stringify(results, null, 2)}\n`;
writeFileSync(join(resultsDir, `${stamp}.json`), json);
const latest = cli.quick ? 'latest-quick.json' : 'latest.json';
writeFileSync(join(resultsDir, latest), json);
console.log(`results: bench/results/${stamp}.json (and bench/results/${latest})`);
process.exit(failed ? 1 : 0);
