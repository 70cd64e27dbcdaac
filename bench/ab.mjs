// @ts-check
// A narrow A/B harness for one change (issue 11): two killswitch builds in bounded mode — `base`
// (a commit, git archive) and `new` (the work tree) — plus the peers Worker, each on its own
// workerd socket, in interleaved rounds so the noise of a shared machine hits both sides alike.
//
//   node bench/ab.mjs [--base HEAD~1] [--alg ES256] [--rounds 5] [--secs 2] [--profile]
//
// Per round and side: A /healthz, C distinct valid tokens, D one token repeated, G forged
// tokens, and B jose.jwtVerify on the peers. Prints each round and the medians of new/base.
// --profile: a CPU profile of `new` under C, D then G load, summed by function (self time).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { processCpuMs } from './lib/direct-socket.mjs';
import { runLoad } from './lib/load.mjs';
import { COMMON_ENV } from './lib/modes.mjs';
import { AUDIENCE, forge, makeKeys, makePool, trustedIssuers } from './lib/tokens.mjs';
import { snapshotApp, workerStarter, writeEnvFile } from './lib/workers.mjs';
import { freePort, stopAll, wranglerBinIn } from '../scripts/lib/wrangler-dev.mjs';

const BENCH_DIR = resolve(fileURLToPath(import.meta.url), '..');
const ROOT = resolve(BENCH_DIR, '..');
const { values: opt } = parseArgs({
  options: {
    base: { type: 'string', default: 'HEAD' },
    alg: { type: 'string', default: 'ES256' },
    rounds: { type: 'string', default: '5' },
    secs: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'bounded' },
    // Experiments on the `new` side's wrangler.toml: without the [assets] block (so no asset
    // router in front of the Worker) and/or without the Analytics Engine binding.
    'no-assets': { type: 'boolean', default: false },
    'no-metrics': { type: 'boolean', default: false },
  },
});
const alg = opt.alg;
const rounds = Number(opt.rounds);
const secs = Number(opt.secs);
const work = mkdtempSync(join(tmpdir(), 'killswitch-ab-'));
const say = (/** @type {string} */ line) => console.log(line);

try {
  const keys = /** @type {Record<string, any>} */ (await makeKeys());
  const hmacVar = 'BENCH_HMAC_SECRET';
  const ksEnv = writeEnvFile(join(work, 'ks.env'), {
    TRUSTED_ISSUERS: JSON.stringify(trustedIssuers(keys, hmacVar)),
    ADMIN_API_KEYS: 'ab-admin-key-0123456789abcdef',
    [hmacVar]: keys.HS256.secret,
    LOG_ACCEPTED: 'false',
    REVOCATION_MODE: opt.mode,
    ...COMMON_ENV,
  });
  const peerEnv = writeEnvFile(join(work, 'peers.env'), {
    PEER_CONFIG: JSON.stringify({
      jwksBase: 'http://127.0.0.1:9',
      algs: {
        [alg]: {
          issuer: keys[alg].issuer,
          audience: AUDIENCE,
          ...(alg === 'HS256' ? { secret: keys[alg].octK } : { publicJwk: keys[alg].publicJwk }),
        },
      },
    }),
  });
  const baseApp = snapshotApp({ root: ROOT, benchDir: BENCH_DIR, dest: join(work, 'base'), ref: opt.base });
  const newApp = snapshotApp({ root: ROOT, benchDir: BENCH_DIR, dest: join(work, 'new') });
  if (opt['no-assets'] || opt['no-metrics']) {
    const toml = join(newApp, 'wrangler.toml');
    let text = readFileSync(toml, 'utf8');
    if (opt['no-assets']) text = text.replace(/^\[assets\]\n(?:[a-z_]+ = .*\n)+/m, '');
    if (opt['no-metrics']) text = text.replace(/^\[\[analytics_engine_datasets\]\]\n(?:[a-z_]+ = .*\n)+/m, '');
    writeFileSync(toml, text);
  }
  const start = workerStarter({ wranglerBin: wranglerBinIn(ROOT), logDir: join(work, 'logs'), tmp: work, proxied: false });
  const inspectorPort = await freePort();
  const [peers, base, next] = await Promise.all([
    start('peers', join(BENCH_DIR, 'peers'), { envFile: peerEnv }),
    start('base', baseApp, { envFile: ksEnv }),
    start('new', newApp, /** @type {any} */ ({ envFile: ksEnv, inspectorPort })),
  ]);
  const commit = execFileSync('git', ['rev-parse', '--short', opt.base], { cwd: ROOT }).toString().trim();
  say(
    `base ${opt.base} (${commit}) → ${base.url}; new (work tree) → ${next.url}; peers → ${peers.url}; ${alg}, ${opt.mode}, ${rounds} × ${secs} s`,
  );

  const perRun = Math.ceil(secs * 4000);
  const pool = async (/** @type {number} */ n) =>
    makePool(keys[alg], n, { users: 1000, subPrefix: `ab${Math.random().toString(36).slice(2, 6)}` });
  const [one] = await pool(1);
  for (const w of [base, next]) {
    const r = await fetch(`${w.url}/v1/verify`, { headers: { authorization: `Bearer ${one}` } });
    if (r.status !== 200) throw new Error(`${w.name}: ${r.status} ${await r.text()}`);
  }
  // Warm both isolates (mirror loaded, keys imported, JIT) before the first round.
  const warm = await pool(2000);
  for (const w of [base, next]) await runLoad({ url: `${w.url}/v1/verify`, tokens: warm.splice(0, 1000), durationS: 3, expect: 200 });

  if (opt.profile) {
    await profile(inspectorPort, next, pool, one);
  } else {
    /** @type {Record<string, number[]>} */
    const ratios = {};
    for (let round = 1; round <= rounds; round++) {
      const sides = round % 2 === 0 ? [next, base] : [base, next];
      /** @type {Record<string, Record<string, number>>} */
      const rps = { base: {}, new: {} };
      /** @type {Record<string, Record<string, number>>} CPU µs per request of the Worker's own workerd */
      const cpu = { base: {}, new: {} };
      const peer = await runLoad({ url: `${peers.url}/jose/${alg}`, tokens: await pool(perRun), durationS: secs, expect: 200 });
      for (const w of sides) {
        const r = rps[w.name];
        const c = cpu[w.name];
        /** @param {string} key @param {Record<string, any>} load */
        const measure = async (key, load) => {
          const before = cpuMs(w);
          const result = await runLoad({ url: `${w.url}${load.path ?? '/v1/verify'}`, durationS: secs, ...load });
          r[key] = result.rps;
          c[key] = (1000 * (cpuMs(w) - before)) / Math.max(1, result.requests);
        };
        await measure('A', { path: '/healthz', expect: 200 });
        await measure('C', { tokens: await pool(perRun), expect: 200 });
        await measure('D', { token: one, expect: 200 });
        await measure('G', { tokens: (await pool(perRun)).map(forge), expect: 401 });
      }
      const fmt = (/** @type {string} */ side) =>
        ['A', 'C', 'D', 'G'].map((k) => `${k} ${rps[side][k]}/s ${cpu[side][k].toFixed(0)}µs`).join(' ');
      say(`round ${round}: B jose ${peer.rps}/s; base ${fmt('base')}; new ${fmt('new')}`);
      for (const s of ['A', 'C', 'D', 'G']) {
        (ratios[`${s} rps new/base`] ??= []).push(rps.new[s] / rps.base[s]);
        (ratios[`${s} cpu new/base`] ??= []).push(cpu.new[s] / cpu.base[s]);
        for (const side of ['base', 'new']) (ratios[`${s} cpu µs/req ${side}`] ??= []).push(cpu[side][s]);
      }
      for (const side of ['base', 'new']) {
        (ratios[`${side} C/B`] ??= []).push(rps[side].C / peer.rps);
        (ratios[`${side} D/A`] ??= []).push(rps[side].D / rps[side].A);
        (ratios[`${side} G/C`] ??= []).push(rps[side].G / rps[side].C);
      }
    }
    const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    for (const [name, xs] of Object.entries(ratios))
      say(`median ${name}: ${median(xs).toFixed(2)} (${xs.map((x) => x.toFixed(2)).join(' ')})`);
  }
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}

/**
 * CPU profile of one Worker's isolate through wrangler's inspector proxy (the Chrome DevTools
 * protocol), under C, D then G load; prints the functions with the most self time.
 * @param {number} port wrangler's inspector port
 * @param {import('./lib/workers.mjs').BenchWorker} worker
 * @param {(n: number) => Promise<string[]>} pool
 * @param {string} one the token D repeats
 */
async function profile(port, worker, pool, one) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((done, fail) => {
    ws.once('open', done);
    ws.once('error', fail);
  });
  let id = 0;
  const pending = new Map();
  ws.on('message', (/** @type {Buffer} */ data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  /** @param {string} method @param {Record<string, unknown>} [params] */
  const send = (method, params = {}) =>
    new Promise((done) => {
      const n = ++id;
      pending.set(n, done);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 100 });
  /** @type {[string, { tokens?: string[], token?: string, expect: number }][]} */
  const loads = [
    ['C', { tokens: await pool(perRunFor()), expect: 200 }],
    ['D', { token: one, expect: 200 }],
    ['G', { tokens: (await pool(perRunFor())).map(forge), expect: 401 }],
  ];
  for (const [label, load] of loads) {
    await send('Profiler.start');
    const r = await runLoad({ url: `${worker.url}/v1/verify`, durationS: secs, ...load });
    const { result } = /** @type {any} */ (await send('Profiler.stop'));
    say(`profile ${label}: ${r.rps} req/s`);
    summarize(result.profile);
  }
  ws.close();
}

/** CPU time the Worker's own workerd process has used, in ms (a declaration: used above, at top-level await). */
/** @param {import('./lib/workers.mjs').BenchWorker} worker */
function cpuMs(worker) {
  return processCpuMs(/** @type {number} */ (worker.workerdPid));
}

function perRunFor() {
  return Math.ceil(secs * 4000);
}

/** Self time per function (and per top-level category) from a Chrome CPU profile. */
/** @param {any} p a Profiler.Profile */
function summarize(p) {
  const dt = new Map();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map();
  for (const node of p.nodes) {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (dt.get(node.id) ?? 0));
  }
  const top = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40);
  for (const [k, v] of top) say(`  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
}
