#!/usr/bin/env node
// `npm run bench [-- --quick]`: killswitch against the runtime ceiling and verify-only peers,
// all under `wrangler dev` (workerd) on 127.0.0.1, load from autocannon. See README "Performance".
//
// Everything it starts (wrangler dev process groups, the JWKS thread) is stopped on the way out,
// also on error and on SIGINT/SIGTERM. Results: stdout table + bench/results/<timestamp>.json
// and bench/results/latest.json.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { DENYLIST_ISSUER, readManifest, seedDenylist } from './lib/denylist.mjs';
import { startJwksServer } from './lib/jwks-server.mjs';
import { runLoad } from './lib/load.mjs';
import { startWranglerDev, stopAll, wranglerBinIn } from '../scripts/lib/wrangler-dev.mjs';
import { forgedRefreshScenario } from './lib/forged-refresh.mjs';
import { ALGS, AUDIENCE, forge, makeKeys, makePool, trustedIssuers } from './lib/tokens.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const WRANGLER = wranglerBinIn(ROOT);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'seed-denylist': { type: 'boolean', default: false },
    ref: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`usage: npm run bench [-- --quick] [-- --seed-denylist]
  (no flag)        full run, ≤ 4 minutes
  --quick          shorter runs and fewer scenarios, ≤ 60 s
  --ref <git-ref>  measure killswitch at that commit (git archive) instead of the work tree
  --seed-denylist  only (re)build the cached 100,000-entry denylist in bench/.cache/ (a few minutes)`);
  process.exit(0);
}

const QUICK = args.quick;
const DENYLIST_SIZE = 100_000;
const DENYLIST_CACHE = join(BENCH_DIR, '.cache', `denylist-${DENYLIST_SIZE}`);

if (args['seed-denylist']) {
  console.log(`seeding ${DENYLIST_SIZE} denylist entries into ${DENYLIST_CACHE} …`);
  const r = await seedDenylist(DENYLIST_CACHE, DENYLIST_SIZE, { log: console.log });
  console.log(`done: ${r.count} entries in ${(r.ms / 1000).toFixed(1)} s`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Plan. Durations in seconds; pool slices sized from the fastest rate seen so far on this
// machine class (runs stop early, flagged, if a pool runs out; no token is ever sent twice).
const PLAN = QUICK
  ? { budgetS: 52, durationS: 0.75, warmupS: 0.15, connections: 50, revokePool: 100, userRevokes: 200, delaySamples: 2, strictAlgs: ['ES256'], revokedAlgs: ['ES256'], logAlgs: ['ES256'], aPerAlg: false, countReads: false, seedBudgetS: 5 }
  : { budgetS: 228, durationS: 2.5, warmupS: 0.4, connections: 50, revokePool: 200, userRevokes: 1000, delaySamples: 5, strictAlgs: ALGS, revokedAlgs: ALGS, logAlgs: ALGS, aPerAlg: true, countReads: true, seedBudgetS: 30 };
// Pool slices are sized from the ceiling (A) just measured: no verifying scenario outruns
// /healthz. BENCH_MAX_RPS=<n> fixes the size instead. A run that uses up its slice stops early
// and is flagged; no token is ever sent twice within one worker.
let MAX_RPS = Number(process.env.BENCH_MAX_RPS ?? 0);
const sizeFromCeiling = (aRps) => {
  // A floor too: on a busy machine one A sample can be far below what the next run sees.
  if (!process.env.BENCH_MAX_RPS) MAX_RPS = Math.ceil(Math.max(aRps * 1.5 + 100, QUICK ? 600 : 1000));
};
const slice = () => Math.ceil(MAX_RPS * (PLAN.durationS + PLAN.warmupS) * 1.1);
const warmSlice = () => Math.ceil(MAX_RPS * PLAN.warmupS * 1.2) + PLAN.connections;

const PEERS = [
  { id: 'hono-jwt', label: 'hono/jwt', algs: ALGS },
  { id: 'hono-jwk', label: 'hono/jwk', algs: ['ES256', 'RS256', 'EdDSA'] }, // no HMAC from a JWKS
  { id: 'tsndr', label: '@tsndr/cloudflare-worker-jwt', algs: ['ES256', 'RS256', 'HS256'] }, // no EdDSA in 3.2.3
  { id: 'jose', label: 'jose.jwtVerify', algs: ALGS },
];

const t0 = Date.now();
// The time bound of the whole run: a section that would not fit is skipped, with a note.
const remainingS = () => PLAN.budgetS - (Date.now() - t0) / 1000;
const runCostS = () => PLAN.durationS + PLAN.warmupS + (QUICK ? 0.3 : 0.6);
const fits = (what, seconds) => {
  if (remainingS() >= seconds) return true;
  results.skipped.push(what);
  log(`skipped (time budget ${PLAN.budgetS} s): ${what}`);
  return false;
};
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const log = (...m) => console.log(`[bench ${elapsed()}]`, ...m);

// ---------------------------------------------------------------------------------------------
// Always clean up. (A last resort on process 'exit' is scripts/lib/wrangler-dev.mjs's own.)
let jwksServer;
let tmp;
let cleaning;
async function cleanup() {
  cleaning ??= (async () => {
    await stopAll();
    await jwksServer?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
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

// ---------------------------------------------------------------------------------------------
function machineInfo() {
  let model = 'unknown';
  try {
    model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? model;
  } catch { /* not Linux */ }
  let nproc = cpus().length;
  try { nproc = Number(execFileSync('nproc').toString().trim()); } catch { /* fallback */ }
  let loadavg;
  try { loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number); } catch { /* not Linux */ }
  const version = (p) => { try { return JSON.parse(readFileSync(join(ROOT, 'node_modules', p, 'package.json'), 'utf8')).version; } catch { return undefined; } };
  return {
    nproc,
    cpuModel: model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavgAtStart: loadavg,
    versions: { wrangler: version('wrangler'), workerd: version('workerd'), autocannon: version('autocannon'), hono: version('hono'), jose: version('jose'), '@tsndr/cloudflare-worker-jwt': version('@tsndr/cloudflare-worker-jwt') },
  };
}

function gitInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT }).toString().trim() !== '';
    return { commit, srcDirty: dirty };
  } catch {
    return undefined;
  }
}

/** A copy of the worker (src/, wrangler.toml …) so edits to the work tree during a run do not hot-reload it. */
function snapshotApp(dest, ref) {
  mkdirSync(dest, { recursive: true });
  const files = ['src', 'wrangler.toml', 'package.json', 'tsconfig.json'];
  if (ref) {
    const tar = execFileSync('git', ['archive', '--format=tar', ref, '--', ...files.filter((f) => f === 'src' || existsSync(join(ROOT, f)))], { cwd: ROOT, maxBuffer: 256 * 2 ** 20 });
    execFileSync('tar', ['-x', '-C', dest], { input: tar });
  } else {
    for (const f of files) {
      if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(dest, f), { recursive: true });
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dest, 'node_modules'), 'dir');
  // The state-read counting wrapper (G check), next to the copy of src/.
  mkdirSync(join(dest, 'counting'));
  cpSync(join(BENCH_DIR, 'ks-counting', 'worker.mjs'), join(dest, 'counting', 'worker.mjs'));
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
    .replace(/^name\s*=.*$/m, 'name = "killswitch-bench-counting"')
    .replace(/^main\s*=.*$/m, 'main = "worker.mjs"');
  writeFileSync(join(dest, 'counting', 'wrangler.toml'), toml);
  return dest;
}

const envLine = (k, v) => {
  if (/'/.test(v) || /\n/.test(v)) throw new Error(`env value for ${k} cannot be written`);
  return `${k}='${v}'`;
};

async function http(url, init = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

// ---------------------------------------------------------------------------------------------
const results = {
  startedAt: new Date(t0).toISOString(),
  mode: QUICK ? 'quick' : 'full',
  machine: machineInfo(),
  git: gitInfo(),
  plan: PLAN,
  scenarios: {}, // scenarios[alg][scenarioId] = run
  ratios: {},
  scale: {},
  userRevoke: {},
  revokeDelay: {},
  stateReads: undefined,
  notes: [],
  warnings: [],
  skipped: [],
};
const note = (m) => { results.notes.push(m); log(`note: ${m}`); };
const warn = (m) => { results.warnings.push(m); log(`WARNING: ${m}`); };

async function measure(label, opts, warmOpts) {
  if (warmOpts !== false) {
    await runLoad({ connections: PLAN.connections, ...opts, ...(warmOpts ?? {}), durationS: PLAN.warmupS });
  }
  const r = await runLoad({ connections: PLAN.connections, durationS: PLAN.durationS, ...opts });
  const flags = [];
  if (r.unexpected > 0) flags.push(`${r.unexpected} unexpected status (${JSON.stringify(r.statuses)})`);
  if (r.errors > 0 || r.timeouts > 0) flags.push(`${r.errors} errors, ${r.timeouts} timeouts`);
  if (r.poolExhausted) flags.push('token pool used up before the time bound');
  log(`${label.padEnd(34)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  (${r.requests} req)${flags.length ? `  ! ${flags.join('; ')}` : ''}`);
  if (r.unexpected > 0 || r.errors > 0) warn(`${label}: ${flags.join('; ')}`);
  return r;
}

async function main() {
  tmp = mkdtempSync(join(tmpdir(), 'killswitch-bench-'));
  const logDir = join(tmp, 'wrangler-logs');
  mkdirSync(logDir);
  log(`${results.mode} run; machine: ${results.machine.nproc} × ${results.machine.cpuModel}, node ${results.machine.node}, load ${results.machine.loadavgAtStart?.join(' ')}`);
  if (results.git?.srcDirty && !args.ref) note('src/ had uncommitted changes at bench start (the run measured that snapshot of the work tree)');

  // Keys, config, env files.
  const keys = await makeKeys();
  const tokenSigning = await generateKeyPair('ES256', { extractable: true });
  const tokenSigningJwk = { ...(await exportJWK(tokenSigning.privateKey)), kid: 'bench-token-service-1', alg: 'ES256' };
  const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
  const hmacVar = 'BENCH_HMAC_SECRET';
  const issuersJson = JSON.stringify(trustedIssuers(keys, hmacVar));
  const ksEnv = (logAccepted) => {
    const file = join(tmp, `killswitch-log-${logAccepted}.env`);
    writeFileSync(file, [
      envLine('TRUSTED_ISSUERS', issuersJson),
      envLine('ADMIN_API_KEYS', adminKey),
      envLine(hmacVar, keys.HS256.secret),
      envLine('LOG_ACCEPTED', String(logAccepted)),
      envLine('REVOCATION_MODE', 'cached'),
      // The token service on, for the forged-refresh scenario (a key of its own).
      envLine('TOKEN_SIGNING_KEYS', JSON.stringify([tokenSigningJwk])),
      '',
    ].join('\n'));
    return file;
  };
  const jwks = Object.fromEntries(ALGS.filter((a) => a !== 'HS256').map((a) => [a, { keys: [keys[a].publicJwk] }]));
  jwksServer = await startJwksServer(jwks);
  const peerEnv = join(tmp, 'peers.env');
  writeFileSync(peerEnv, `${envLine('PEER_CONFIG', JSON.stringify({
    jwksBase: jwksServer.base,
    algs: Object.fromEntries(ALGS.map((a) => [a, {
      issuer: keys[a].issuer, audience: AUDIENCE,
      ...(a === 'HS256' ? { secret: keys[a].octK } : { publicJwk: keys[a].publicJwk }),
    }])),
  }))}\n`);

  // Denylist for the scale scenario: the cached 100k directory, or a bounded in-run seed.
  let scaleDir;
  let denylist = readManifest(DENYLIST_CACHE);
  const seeding = (async () => {
    if (QUICK && !denylist) {
      note('quick run without the cached denylist (bench/.cache/): scale scenario skipped; `npm run bench -- --seed-denylist` builds it');
      return;
    }
    if (denylist) {
      scaleDir = join(DENYLIST_CACHE, 'state');
      return;
    }
    scaleDir = join(tmp, 'denylist', 'state');
    const r = await seedDenylist(join(tmp, 'denylist'), DENYLIST_SIZE, { deadlineMs: Date.now() + PLAN.seedBudgetS * 1000 });
    denylist = { count: r.count, seedMs: r.ms, inRun: true };
    note(`no cached ${DENYLIST_SIZE}-entry denylist (bench/.cache/): seeded ${r.count} entries in ${PLAN.seedBudgetS} s instead; run \`npm run bench -- --seed-denylist\` once (a few minutes) for the 100k figure`);
  })();

  // Workers: peers, killswitch (log off), killswitch (log on), the state-read counter.
  const snap = snapshotApp(join(tmp, 'app'), args.ref);
  if (args.ref) results.git.measuredRef = { ref: args.ref, commit: execFileSync('git', ['rev-parse', '--short', args.ref], { cwd: ROOT }).toString().trim() };
  // --port 0: wrangler binds a free port itself and prints it (no window for another process to take it).
  const start = (name, cwd, extra) => startWranglerDev({ name, cwd, wranglerBin: WRANGLER, logDir, persistTo: join(tmp, `state-${name}`), timeoutMs: 90_000, ...extra });
  let logLines = 0;
  const [peers, ks, ksLog, ksCount] = await Promise.all([
    start('peers', join(BENCH_DIR, 'peers'), { envFile: peerEnv }),
    start('killswitch', snap, { envFile: ksEnv(false) }),
    start('killswitch-log', snap, { envFile: ksEnv(true), onLine: () => { logLines++; } }),
    PLAN.countReads ? start('killswitch-counting', join(snap, 'counting'), { envFile: ksEnv(false) }) : undefined,
  ]);
  log(`workers ready: peers ${peers.url}, killswitch ${ks.url}, killswitch LOG_ACCEPTED=true ${ksLog.url}${ksCount ? `, counting ${ksCount.url}` : ''}`);

  // Token pools: per alg, one signed pool cut into disjoint slices, so no token is sent twice
  // to one worker (a future verified-signature cache cannot flatter C, E, F or the peers).
  const pools = {};
  const forgedPools = {};
  const checkTokens = {};
  for (const alg of ALGS) checkTokens[alg] = await makePool(keys[alg], 200, { subPrefix: 'check' });
  const buildPools = async (alg) => {
    const t = Date.now();
    // Slices are disjoint within one worker isolate. Across isolates a slice may be reused:
    // B's tokens (seen only by the peers) serve the empty-denylist run on killswitch, and C's
    // serve C_log (the LOG_ACCEPTED=true worker) and the seeded-denylist run (its own worker).
    const hasE = PLAN.strictAlgs.includes(alg);
    const hasF = PLAN.revokedAlgs.includes(alg);
    const need = 2 * warmSlice() + 2 * slice() + (hasE ? slice() : 0) + (hasF ? PLAN.revokePool : 0);
    const all = await makePool(keys[alg], need);
    let at = 0;
    const take = (n) => { const s = all.slice(at, at + n); at += n; return s; };
    pools[alg] = { warm: take(warmSlice()), warm2: take(warmSlice()), B: take(slice()), C: take(slice()), E: hasE ? take(slice()) : [], F: hasF ? take(PLAN.revokePool) : [], check: checkTokens[alg] };
    // Forged: distinct header.payload (new jti), signature of the right length but wrong.
    const template = all[0];
    forgedPools[alg] = Array.from({ length: slice() + warmSlice() }, (_, i) => {
      const payload = JSON.parse(Buffer.from(template.split('.')[1], 'base64url'));
      payload.jti = randomUUID();
      payload.sub = `forger-${i % 1000}`;
      return forge(`${template.split('.')[0]}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${template.split('.')[2]}`);
    });
    log(`${alg}: ${need} tokens signed, ${forgedPools[alg].length} forged (${Date.now() - t} ms; slices sized for ${MAX_RPS} req/s)`);
  };
  await seeding;

  // Sanity: every path answers as expected before any load.
  const verifyUrl = `${ks.url}/v1/verify`;
  const bearer = (t) => ({ authorization: `Bearer ${t}` });
  for (const alg of ALGS) {
    const [good] = checkTokens[alg];
    const r = await http(verifyUrl, { headers: bearer(good) });
    if (r.status !== 200) throw new Error(`killswitch refused a valid ${alg} token: ${r.status} ${r.text}\n${ks.output().slice(-3000)}`);
    const bad = await http(verifyUrl, { headers: bearer(forge(checkTokens[alg][199])) });
    if (!bad.text.includes('bad_signature')) throw new Error(`forged ${alg} token: ${bad.status} ${bad.text}`);
    for (const peer of PEERS.filter((p) => p.algs.includes(alg))) {
      const p = await http(`${peers.url}/${peer.id}/${alg}`, { headers: bearer(good) });
      if (p.status !== 200) throw new Error(`peer ${peer.label} refused a valid ${alg} token: ${p.status} ${p.text}\n${peers.output().slice(-3000)}`);
      const pb = await http(`${peers.url}/${peer.id}/${alg}`, { headers: bearer(forge(checkTokens[alg][199])) });
      if (pb.status !== 401) throw new Error(`peer ${peer.label} accepted a forged ${alg} token: ${pb.status}`);
    }
  }
  log('sanity checks passed (valid → 200, forged → 401 bad_signature, on killswitch and every peer)');

  // G reads no state: the counting wrapper, forged then valid tokens.
  if (ksCount) {
    const reset = () => http(`${ksCount.url}/__bench/reset`);
    const reads = async () => (await http(`${ksCount.url}/__bench/reads`)).json();
    await reset();
    const g = await runLoad({ url: `${ksCount.url}/v1/verify`, connections: 10, durationS: 10, tokens: checkTokens.ES256.slice(100).map(forge), maxRequests: 90, expect: 401 });
    const afterForged = await reads();
    await reset();
    const c = await runLoad({ url: `${ksCount.url}/v1/verify`, connections: 10, durationS: 10, tokens: checkTokens.ES256.slice(1, 100), maxRequests: 90, expect: 200 });
    const afterValid = await reads();
    results.stateReads = {
      forged: { requests: g.requests, refused401: g.statuses[401] ?? 0, ...afterForged },
      valid: { requests: c.requests, accepted200: c.statuses[200] ?? 0, ...afterValid },
      how: 'killswitch src/index.ts wrapped by bench/ks-counting/worker.mjs, which counts calls on env.REVOCATIONS, env.USER_STATE and env.GLOBAL_STATE',
    };
    const total = afterForged.kv + afterForged.userState + afterForged.globalState;
    log(`state reads: ${g.requests} forged → ${total} (kv ${afterForged.kv}, DO ${afterForged.userState + afterForged.globalState}); ${c.requests} valid → kv ${afterValid.kv}, DO ${afterValid.userState + afterValid.globalState}`);
    if (total !== 0) warn(`forged tokens caused ${total} state reads (target 0)`);
  }
  await ksCount?.stop();

  // Main matrix: per alg, A, B (each peer), C, D, E, G. F needs revocations and runs after the scale check.
  for (const alg of ALGS) results.scenarios[alg] = {};
  let aShared;
  for (const alg of ALGS) {
    const S = results.scenarios[alg];
    const runs = 2 + PEERS.filter((p) => p.algs.includes(alg)).length + 3 + (PLAN.strictAlgs.includes(alg) ? 1 : 0);
    if (!fits(`${alg} A–E, G`, runs * runCostS() + (QUICK ? 0 : 25))) continue;
    if (PLAN.aPerAlg || aShared === undefined) {
      aShared = await measure(`${alg} A ceiling /healthz`, { url: `${ks.url}/healthz`, expect: 200 });
    }
    S.A = aShared;
    sizeFromCeiling(aShared.rps);
    await buildPools(alg);
    const P = pools[alg];
    S.B = {};
    for (const peer of PEERS.filter((p) => p.algs.includes(alg))) {
      S.B[peer.id] = await measure(`${alg} B ${peer.label}`, { url: `${peers.url}/${peer.id}/${alg}`, tokens: P.B, expect: 200 }, { tokens: P.warm });
    }
    S.C = await measure(`${alg} C cached, distinct tokens`, { url: verifyUrl, tokens: P.C, expect: 200 }, { tokens: P.warm2 });
    S.D = await measure(`${alg} D cached, one token`, { url: verifyUrl, token: P.check[0], expect: 200 });
    if (PLAN.strictAlgs.includes(alg)) {
      S.E = await measure(`${alg} E strict, distinct tokens`, { url: `${verifyUrl}?strict=1`, tokens: P.E, expect: 200 }, { tokens: P.warm });
    }
    S.G = await measure(`${alg} G forged, distinct tokens`, { url: verifyUrl, tokens: forgedPools[alg].slice(warmSlice()), expect: 401 }, { tokens: forgedPools[alg].slice(0, warmSlice()) });
  }

  // Scale: the same C run (ES256, distinct tokens) against an empty denylist and a seeded one.
  if (scaleDir && pools.ES256 && fits('denylist scale', 2 * runCostS() + 10 + 20)) {
    const ksScale = await start('killswitch-denylist', snap, { envFile: ksEnv(false), persistTo: scaleDir });
    const rounds = [];
    {
      // killswitch (empty denylist) never saw the peers' tokens (B); the seeded worker never saw C's.
      const empty = await measure('scale: denylist 0', { url: verifyUrl, tokens: pools.ES256.B, expect: 200 }, { tokens: pools.ES256.warm });
      const full = await measure(`scale: denylist ${denylist.count}`, { url: `${ksScale.url}/v1/verify`, tokens: pools.ES256.C, expect: 200 }, { tokens: pools.ES256.warm2 });
      rounds.push({ empty, full });
    }
    await ksScale.stop();
    const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const p50Empty = mean(rounds.map((r) => r.empty.p50));
    const p50Full = mean(rounds.map((r) => r.full.p50));
    results.scale = {
      alg: 'ES256', denylistEntries: denylist.count, seededInRun: Boolean(denylist.inRun), rounds,
      p50Empty, p50Full, p99Empty: mean(rounds.map((r) => r.empty.p99)), p99Full: mean(rounds.map((r) => r.full.p99)),
      rpsEmpty: mean(rounds.map((r) => r.empty.rps)), rpsFull: mean(rounds.map((r) => r.full.rps)),
      p50Ratio: p50Full / p50Empty,
    };
  }

  // F: revoke a pool per alg through POST /v1/revoke (admin), then verify those tokens.
  const admin = { authorization: `Bearer ${adminKey}` };
  results.revokeApi = {};
  for (const alg of PLAN.revokedAlgs) {
    if (!pools[alg] || !fits(`${alg} F`, runCostS() + PLAN.revokePool / 25 + 15)) continue;
    const F = pools[alg].F;
    const r = await runLoad({
      url: `${ks.url}/v1/revoke`, method: 'POST', connections: 50, durationS: 60, maxRequests: F.length, expect: 200,
      headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' },
      vary: (i) => ({ body: `token=${F[i % F.length]}` }),
    });
    results.revokeApi[alg] = r;
    log(`${alg}: revoked ${r.statuses[200] ?? 0}/${F.length} tokens via POST /v1/revoke at ${r.rps}/s (p50 ${r.p50} ms; statuses ${JSON.stringify(r.statuses)})`);
    if ((r.statuses[200] ?? 0) !== F.length) warn(`${alg}: only ${r.statuses[200] ?? 0}/${F.length} revocations answered 200 (${JSON.stringify(r.statuses)}); F counts the others as unexpected 200s`);
    const probe = await http(verifyUrl, { headers: bearer(F[0]) });
    if (!probe.text.includes('revoked_token')) warn(`${alg}: a revoked token answered ${probe.status} ${probe.text}`);
    results.scenarios[alg].F = await measure(`${alg} F revoked (pool of ${F.length})`, { url: verifyUrl, tokens: F, wrap: true, expect: 401 });
  }

  // Logging on: C (and D for ES256) with LOG_ACCEPTED=true.
  const logUrl = `${ksLog.url}/v1/verify`;
  for (const alg of PLAN.logAlgs) {
    if (!pools[alg] || !fits(`${alg} C with LOG_ACCEPTED=true`, runCostS() + 12)) continue;
    const before = logLines;
    results.scenarios[alg].C_log = await measure(`${alg} C, LOG_ACCEPTED=true`, { url: logUrl, tokens: pools[alg].C, expect: 200 }, { tokens: pools[alg].warm2 });
    results.scenarios[alg].C_log.outputLinesPerRequest = Math.round(((logLines - before) / Math.max(1, results.scenarios[alg].C_log.requests)) * 100) / 100;
  }
  if (pools.ES256 && fits('ES256 D with LOG_ACCEPTED=true', runCostS() + 12)) results.scenarios.ES256.D_log = await measure('ES256 D, LOG_ACCEPTED=true', { url: logUrl, token: pools.ES256.check[0], expect: 200 });

  // User revokes: one sub N times (concurrency 50) must land as exactly +N; then N subs once each.
  if (fits('user revokes', 3)) {
    const n = PLAN.userRevokes;
    const hot = `bench-hot-${randomUUID()}`;
    const before = (await http(`${ks.url}/v1/admin/users/${hot}`, { headers: admin })).json().version ?? 0;
    const one = await runLoad({
      url: `${ks.url}/v1/admin/users/${hot}/revoke`, method: 'POST', connections: 50, durationS: 60, maxRequests: n,
      headers: admin, body: '{"reason":"bench"}', expect: 200,
    });
    const after = (await http(`${ks.url}/v1/admin/users/${hot}`, { headers: admin })).json().version;
    const ok = one.statuses[200] ?? 0;
    results.userRevoke.oneSub = { calls: n, ok200: ok, versionBefore: before, versionAfter: after, exact: after - before === ok && ok === n, ...one };
    log(`user revoke, one sub: ${n} calls, ${ok} × 200 at ${one.rps}/s (p50 ${one.p50} ms, p99 ${one.p99} ms); version ${before} → ${after} ${after - before === ok ? '(exact)' : '(MISMATCH)'}`);
    if (after - before !== ok) warn(`one-sub user revoke: ${ok} successful calls but version rose by ${after - before}`);
    const prefix = `bench-many-${randomUUID().slice(0, 8)}`;
    if (fits(`user revoke, ${n} subs`, 2)) {
    const many = await runLoad({
      url: `${ks.url}/v1/admin/users/x/revoke`, method: 'POST', connections: 50, durationS: Math.max(2, Math.min(60, remainingS() - 3)), maxRequests: n,
      headers: admin, body: '{"reason":"bench"}', expect: 200,
      vary: (i) => ({ path: `/v1/admin/users/${prefix}-${i}/revoke` }),
    });
    results.userRevoke.manySubs = { calls: n, subs: n, ok200: many.statuses[200] ?? 0, ...many };
    log(`user revoke, ${n} subs: ${many.statuses[200] ?? 0} × 200 at ${many.rps}/s (p50 ${many.p50} ms, p99 ${many.p99} ms)`);
    }
  }

  // Forged refresh tokens: 400 invalid_grant without touching a Durable Object (issue 10, item 17).
  if (fits('forged refresh tokens', runCostS() + 3)) {
    const r = await forgedRefreshScenario({ url: ks.url, countingUrl: ksCount?.url, connections: PLAN.connections, durationS: PLAN.durationS });
    results.forgedRefresh = r;
    log(`forged refresh tokens: ${r.rps} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms) ${JSON.stringify(r.statuses)}${r.stateCallsFor200 ? `; DO calls for 200 of them: ${JSON.stringify(r.stateCallsFor200)}` : ''}`);
    if (r.unexpected > 0) warn(`forged refresh tokens: ${r.unexpected} answers other than 400`);
    if (r.stateCallsFor200 && (r.stateCallsFor200.userState > 0 || r.stateCallsFor200.globalState > 0)) warn('forged refresh tokens reached a Durable Object');
  }

  // Revoke → first refusal, cached and strict: revoke a fresh token, poll /v1/verify until 401.
  for (const mode of ['cached', 'strict']) {
    const samples = [];
    for (let i = 0; i < PLAN.delaySamples; i++) {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: keys.ES256.kid, typ: 'JWT' })
        .setIssuer(keys.ES256.issuer).setAudience(AUDIENCE).setSubject(`delay-${i}`).setIssuedAt(now).setExpirationTime(now + 600)
        .setJti(randomUUID()).sign(keys.ES256.signKey);
      const url = mode === 'strict' ? `${verifyUrl}?strict=1` : verifyUrl;
      const first = await http(url, { headers: bearer(token) });
      if (first.status !== 200) throw new Error(`delay probe: fresh token answered ${first.status}`);
      const sent = performance.now();
      const rv = await http(`${ks.url}/v1/revoke`, { method: 'POST', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
      const returned = performance.now();
      let polls = 0;
      let refusedAt;
      while (performance.now() - returned < 10_000) {
        polls++;
        const r = await http(url, { headers: bearer(token) });
        if (r.status === 401) { refusedAt = performance.now(); break; }
      }
      samples.push({ revokeStatus: rv.status, revokeCallMs: +(returned - sent).toFixed(2), afterReturnMs: refusedAt === undefined ? null : +(refusedAt - returned).toFixed(2), fromSendMs: refusedAt === undefined ? null : +(refusedAt - sent).toFixed(2), polls });
    }
    const sorted = samples.map((s) => s.fromSendMs ?? Infinity).sort((a, b) => a - b);
    results.revokeDelay[mode] = { samples, medianFromSendMs: sorted[sorted.length >> 1], maxFromSendMs: sorted[sorted.length - 1], firstPollRefusedAll: samples.every((s) => s.polls === 1) };
    log(`revoke → first refusal (${mode}): median ${sorted[sorted.length >> 1]} ms from sending the revoke (call ${samples.map((s) => s.revokeCallMs).join('/')} ms; polls ${samples.map((s) => s.polls).join('/')})`);
  }

  for (const w of [peers, ks, ksLog]) if (w.reloads() > 0) warn(`${w.name} reloaded ${w.reloads()} time(s) during the run: ${w.reloadLines().join(' | ')}`);
  results.logOutputLines = logLines;
}

// ---------------------------------------------------------------------------------------------
function computeRatios() {
  for (const alg of ALGS) {
    const S = results.scenarios[alg];
    if (!S?.B || !S.C) continue;
    const [bestId, best] = Object.entries(S.B).sort((a, b) => b[1].rps - a[1].rps)[0];
    const r = (x, y) => (x && y ? Math.round((x / y) * 100) / 100 : null);
    results.ratios[alg] = {
      bBest: bestId,
      'C/B_best': r(S.C.rps, best.rps),
      'D/B_best': r(S.D?.rps, best.rps),
      'D/A': r(S.D?.rps, S.A.rps),
      'B_best/A': r(best.rps, S.A.rps),
      'C_log/C': r(S.C_log?.rps, S.C.rps),
      'F/C': r(S.F?.rps, S.C.rps),
      'G/C': r(S.G?.rps, S.C.rps),
      'E/C': r(S.E?.rps, S.C.rps),
    };
  }
}

const fmt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '—' : String(n));

function renderTable(res) {
  const lines = [];
  const row = (cells) => `| ${cells.join(' | ')} |`;
  lines.push(row(['scenario', ...ALGS.map((a) => `${a} req/s`), ...ALGS.map((a) => `${a} p50/p99 ms`)]));
  lines.push(row(Array(1 + 2 * ALGS.length).fill('---')));
  const names = [
    ['A', 'A ceiling (/healthz)'],
    ...PEERS.map((p) => [`B:${p.id}`, `B ${p.label}`]),
    ['C', 'C cached, distinct tokens'],
    ['C_log', 'C with LOG_ACCEPTED=true'],
    ['D', 'D cached, one token'],
    ['D_log', 'D with LOG_ACCEPTED=true'],
    ['E', 'E strict (?strict=1)'],
    ['F', 'F revoked tokens'],
    ['G', 'G forged tokens'],
  ];
  for (const [id, label] of names) {
    const get = (alg) => (id.startsWith('B:') ? res.scenarios[alg]?.B?.[id.slice(2)] : res.scenarios[alg]?.[id]);
    if (!ALGS.some(get)) continue;
    lines.push(row([label, ...ALGS.map((a) => fmt(get(a)?.rps)), ...ALGS.map((a) => (get(a) ? `${fmt(get(a).p50)} / ${fmt(get(a).p99)}` : '—'))]));
  }
  lines.push('');
  lines.push(row(['ratio (req/s)', ...ALGS, 'target']));
  lines.push(row(Array(2 + ALGS.length).fill('---')));
  const targets = { 'C/B_best': '≥ 1.0', 'D/B_best': '', 'D/A': '≥ 0.9', 'B_best/A': '(peer vs ceiling)', 'C_log/C': '(logging cost)', 'E/C': '', 'F/C': '≥ 1.0 (no costlier)', 'G/C': '≥ 1.0 (no costlier)' };
  lines.push(row(['B_best (fastest peer)', ...ALGS.map((a) => res.ratios[a]?.bBest ?? '—'), '']));
  for (const [k, t] of Object.entries(targets)) {
    lines.push(row([k, ...ALGS.map((a) => fmt(res.ratios[a]?.[k])), t]));
  }
  return lines.join('\n');
}

function renderExtras(res) {
  const out = [];
  const s = res.scale;
  if (s?.rounds) {
    out.push(`Denylist scale (ES256, scenario C): 0 entries p50 ${s.p50Empty.toFixed(2)} ms / p99 ${s.p99Empty.toFixed(2)} ms, ${Math.round(s.rpsEmpty)} req/s; ${s.denylistEntries} entries p50 ${s.p50Full.toFixed(2)} ms / p99 ${s.p99Full.toFixed(2)} ms, ${Math.round(s.rpsFull)} req/s; p50 ratio ${s.p50Ratio.toFixed(2)} (target ≤ 1.1)${s.seededInRun ? ' [seeded in-run, not the cached 100k]' : ''}`);
  }
  const u = res.userRevoke;
  if (u?.oneSub) {
    out.push(`User revoke, one sub: ${u.oneSub.calls} calls at concurrency 50 → ${u.oneSub.ok200} × 200, ${u.oneSub.rps}/s, p50 ${u.oneSub.p50} ms, p99 ${u.oneSub.p99} ms; version +${u.oneSub.versionAfter - u.oneSub.versionBefore} (${u.oneSub.exact ? 'exact' : 'NOT exact'})`);
    if (u.manySubs) out.push(`User revoke, ${u.manySubs.subs} subs: ${u.manySubs.ok200} × 200, ${u.manySubs.rps}/s, p50 ${u.manySubs.p50} ms, p99 ${u.manySubs.p99} ms`);
  }
  for (const [mode, d] of Object.entries(res.revokeDelay ?? {})) {
    out.push(`Revoke → first refusal (${mode}): median ${d.medianFromSendMs} ms, max ${d.maxFromSendMs} ms from sending POST /v1/revoke (refused on the first poll after the call returned: ${d.firstPollRefusedAll ? 'always' : 'not always'})`);
  }
  if (res.revokeApi) {
    out.push(`POST /v1/revoke (F setup): ${ALGS.map((a) => `${a} ${res.revokeApi[a]?.rps ?? '—'}/s`).join(', ')}`);
  }
  if (res.stateReads) {
    const f = res.stateReads.forged;
    const v = res.stateReads.valid;
    out.push(`State reads: ${f.requests} forged tokens → KV ${f.kv}, DO ${f.userState + f.globalState} (target 0); ${v.requests} valid tokens → KV ${v.kv}, DO ${v.userState + v.globalState}`);
  }
  return out.join('\n');
}

let failed;
try {
  await main();
} catch (error) {
  failed = error;
  console.error(`[bench] failed: ${error.stack ?? error}`);
}
await cleanup();
computeRatios();
results.finishedAt = new Date().toISOString();
try { results.machine.loadavgAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number); } catch { /* not Linux */ }
results.totalSeconds = Math.round((Date.now() - t0) / 100) / 10;
if (failed) results.error = String(failed.message ?? failed);
const table = renderTable(results);
const extras = renderExtras(results);
results.table = table;
results.summary = extras;
console.log(`\n${table}\n\n${extras}\n`);
console.log(`machine: ${results.machine.nproc} × ${results.machine.cpuModel}, node ${results.machine.node}, load average ${results.machine.loadavgAtStart?.[0]} at start / ${results.machine.loadavgAtEnd?.[0]} at end; ${results.mode} run in ${results.totalSeconds} s${results.skipped.length ? `; skipped (time budget): ${results.skipped.join(', ')}` : ''}${results.warnings.length ? `; ${results.warnings.length} warning(s)` : ''}`);
const resultsDir = join(BENCH_DIR, 'results');
mkdirSync(resultsDir, { recursive: true });
const stamp = results.startedAt.replace(/[:.]/g, '-');
const json = `${JSON.stringify(results, null, 2)}\n`;
writeFileSync(join(resultsDir, `${stamp}${QUICK ? '-quick' : ''}.json`), json);
const latest = QUICK ? 'latest-quick.json' : 'latest.json';
writeFileSync(join(resultsDir, latest), json);
console.log(`results: bench/results/${stamp}${QUICK ? '-quick' : ''}.json (and bench/results/${latest})`);
process.exit(failed ? 1 : 0);
