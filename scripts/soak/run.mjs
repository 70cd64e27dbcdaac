// @ts-check
// runSoak: the phases of one soak — start the worker, attach to its isolate, seed the model,
// run the load (the heap baseline taken once warm-up is over), measure the end, summarize, stop.
import { DEMO_ADMIN_KEY, DEMO_ENV, freePort, startWranglerDev } from '../lib/wrangler-dev.mjs';
import { Client } from './client.mjs';
import { Load } from './load.mjs';
import { MemoryMonitor } from './memory.mjs';
import { Model } from './model.mjs';
import { startSession } from './session-actions.mjs';
import { now, round, Stats } from './stats.mjs';
import { mintDemo } from './token-actions.mjs';
import { demoSigner } from './tokens.mjs';
import { Verdicts } from './verdicts.mjs';

/** @import { SoakOptions, SoakSummary } from './types.d.ts' */
/** @import { SoakContext } from './load.mjs' */

/**
 * Secrets that must never reach the worker's output: every line of it goes through `scan`.
 * @returns {{ leaks: number, sample?: string, scan: (line: string) => void }}
 */
function secretScanner() {
  /** @type {{ leaks: number, sample?: string, scan: (line: string) => void }} */
  const seen = {
    leaks: 0,
    scan(line) {
      if (line.includes(DEMO_ADMIN_KEY)) seen.leaks++;
      for (const m of line.matchAll(/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}|rt1_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/g)) {
        seen.leaks++;
        if (seen.sample === undefined) seen.sample = `${m[0].slice(0, 24)}…`;
      }
    },
  };
  return seen;
}

/**
 * Runs the soak and resolves to its summary (`summary.ok` is false on any violation). Always
 * stops the worker it started, whatever happens. Options: see SoakOptions (scripts/soak/types.d.ts).
 * @param {SoakOptions} [options]
 * @returns {Promise<SoakSummary>}
 */
export async function runSoak(options = {}) {
  const seconds = options.seconds ?? 60;
  const log = options.log ?? (() => {});
  const secrets = secretScanner();
  // The real worker with the demo configuration, its own state, log and registry directories,
  // in its own process group (workerd included): RSS is summed over that group. Its V8 inspector
  // on a port of our choosing (wrangler does not print the one it picks for port 0): the
  // isolate's heap is read through it.
  const inspectorPort = options.baseUrl === undefined ? await freePort() : undefined;
  const worker =
    options.baseUrl === undefined
      ? await startWranglerDev({ name: 'soak', envFile: DEMO_ENV, timeoutMs: 60_000, inspectorPort, onLine: secrets.scan })
      : undefined;
  if (worker !== undefined) log(`wrangler dev ready on ${worker.url} (pid ${worker.pid}, inspector port ${inspectorPort})`);
  const base = options.baseUrl ?? /** @type {import('../lib/wrangler-dev.mjs').WranglerDev} */ (worker).url;
  const verdicts = new Verdicts();
  const stats = new Stats();
  /** @type {SoakContext} */
  const ctx = { client: new Client(base, stats, verdicts), model: new Model(options.users ?? 40), verdicts, signer: await demoSigner() };
  const maxRequests = options.maxRequests ?? Math.ceil(seconds * 3000);
  const deadline = now() + seconds * 1000;
  const load = new Load(ctx, () => now() < deadline && ctx.client.requests < maxRequests && !(options.signal?.aborted ?? false));
  const memory = new MemoryMonitor({ pgid: worker?.pid, base, log });
  try {
    const elapsed = await runLoad(ctx, load, memory, inspectorPort, options);
    const warmupSeconds = options.warmupSeconds ?? Math.min(10, seconds / 3);
    const memorySummary = await memory.finish(elapsed, warmupSeconds, verdicts);
    if (secrets.leaks > 0) verdicts.violate('secret_in_logs', { count: secrets.leaks, sample: secrets.sample });
    const workerOutputTail = verdicts.violations() > 0 && worker !== undefined ? worker.output().slice(-4000) : undefined;
    return summarize(ctx, stats, elapsed, options.concurrency ?? 32, memorySummary, workerOutputTail);
  } finally {
    memory.close();
    await worker?.stop();
  }
}

/**
 * Attaches, seeds, then runs the load with the samplers, the warm-up baseline and a progress
 * line every 10 s; resolves to the seconds it lasted.
 * @param {SoakContext} ctx
 * @param {Load} load
 * @param {MemoryMonitor} memory
 * @param {number | undefined} inspectorPort
 * @param {SoakOptions} options
 * @returns {Promise<number>}
 */
async function runLoad(ctx, load, memory, inspectorPort, options) {
  const seconds = options.seconds ?? 60;
  const warmupSeconds = options.warmupSeconds ?? Math.min(10, seconds / 3);
  const log = options.log ?? (() => {});
  memory.sampleRss();
  if (inspectorPort !== undefined) await memory.attach(inspectorPort);
  await memory.sampleHeap();
  // Seed: a few tokens per user and a session for half of them.
  for (const user of ctx.model.users) for (let i = 0; i < 3; i++) await mintDemo(ctx, user);
  await Promise.all(ctx.model.users.filter((_, i) => i % 2 === 0).map((u) => startSession(ctx, u)));
  const { startedAt } = memory;
  const sampler = setInterval(() => memory.sampleRss(), options.rssIntervalMs ?? 2000);
  const heapSampler = setInterval(() => memory.sampleHeap(), options.heapIntervalMs ?? 2000);
  /** @type {Promise<void> | undefined} */
  let baselineTaken;
  const baselineTimer = setTimeout(
    () => {
      baselineTaken = memory.takeBaseline(load);
    },
    Math.max(0, startedAt + warmupSeconds * 1000 - now()),
  );
  const progress = setInterval(() => log(`… ${Math.round((now() - startedAt) / 1000)} s, ${ctx.client.requests} requests`), 10_000);
  try {
    await load.run(options.concurrency ?? 32);
  } finally {
    clearInterval(sampler);
    clearInterval(heapSampler);
    clearTimeout(baselineTimer);
    clearInterval(progress);
  }
  await baselineTaken;
  return (now() - startedAt) / 1000;
}

/**
 * @param {SoakContext} ctx
 * @param {Stats} stats
 * @param {number} elapsed
 * @param {number} concurrency
 * @param {SoakSummary['memory']} memory
 * @param {string | undefined} workerOutputTail
 * @returns {SoakSummary}
 */
function summarize({ model, verdicts }, stats, elapsed, concurrency, memory, workerOutputTail) {
  const requests = stats.summary();
  const violations = verdicts.violations();
  return {
    ok: violations === 0,
    seconds: round(elapsed),
    concurrency,
    requestsPerSecond: round(requests.total / elapsed),
    requests,
    fiveXX: Object.entries(requests.statuses)
      .filter(([s]) => Number(s) >= 500)
      .reduce((a, [, n]) => a + n, 0),
    violations,
    violationsByKind: verdicts.violationsByKind,
    violationSamples: verdicts.samples,
    checks: {
      refusedAsExpected: verdicts.refusedAsExpected,
      acceptedAsExpected: verdicts.acceptedAsExpected,
      notJudged: verdicts.unclassified,
      malleatedTwinsChecked: verdicts.twinChecks,
      userRevokes: model.users.reduce((a, u) => a + u.revokes.filter((r) => r.ackAt !== undefined).length, 0),
      tokensMinted: verdicts.tokensMinted,
      sessionsStarted: verdicts.sessionsStarted,
      sessionsEnded: model.sessions.filter((s) => s.endedAckAt !== undefined).length,
    },
    memory,
    ...(workerOutputTail === undefined ? {} : { workerOutputTail }),
  };
}
