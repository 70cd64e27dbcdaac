// @ts-check
// The throughput matrix, per algorithm: A (the runtime ceiling), B (each verify-only peer),
// then for each revocation mode C (distinct valid tokens), D (one token repeated) and G
// (forged tokens). F (revoked tokens) needs revocations first: bench/lib/revocations.mjs.
import { bearer } from './http.mjs';
import { runLoad } from './load.mjs';
import { buildPools } from './pools.mjs';
import { ALGS, forge } from './tokens.mjs';

export const PEERS = [
  { id: 'hono-jwt', label: 'hono/jwt', algs: ALGS },
  { id: 'hono-jwk', label: 'hono/jwk', algs: ['ES256', 'RS256', 'EdDSA'] }, // no HMAC from a JWKS
  { id: 'tsndr', label: '@tsndr/cloudflare-worker-jwt', algs: ['ES256', 'RS256', 'HS256'] }, // no EdDSA in 3.2.3
  { id: 'jose', label: 'jose.jwtVerify', algs: ALGS },
];

/**
 * What the scenarios share: the Workers, keys and token pools.
 * @typedef {object} Setup
 * @property {import('./workers.mjs').BenchWorker} peers
 * @property {Record<string, import('./workers.mjs').BenchWorker>} ks killswitch per available mode
 * @property {import('./workers.mjs').BenchWorker | undefined} ksLog cached mode with LOG_ACCEPTED=true
 * @property {Record<string, any>} keys bench/lib/tokens.mjs makeKeys
 * @property {string} adminKey
 * @property {Record<string, string[]>} checkTokens per alg, 200 tokens
 * @property {Record<string, import('./pools.mjs').Pools>} pools per alg, filled by the matrix
 * @property {ReturnType<typeof import('./pools.mjs').poolSizer>} sizer
 */

/**
 * Per algorithm, one interleaved group (run.interleave): A, every peer, then C, D, G of every
 * mode, so each ratio (D/A, C/B_best, G/C) compares slices taken in the same rounds. Each
 * result carries the CPU of its Worker's own workerd per request (`cpuUsPerRequest`).
 * @param {import('./run-context.mjs').Run} run
 * @param {Setup} setup
 */
export async function runMatrix(run, setup) {
  const { results, plan, interleave, fits, runCostS, log } = run;
  const modes = Object.keys(setup.ks);
  const healthz = { url: `${setup.ks.cached.url}/healthz`, expect: 200, cpuPid: setup.ks.cached.workerdPid };
  let fastestA = 0;
  for (const alg of ALGS) {
    /** @type {Record<string, any>} scenario id or mode → runs */
    const S = (results.scenarios[alg] = {});
    const peers = PEERS.filter((p) => p.algs.includes(alg));
    const runs = 2 + peers.length + 3 * modes.length;
    if (!fits(`${alg} A–D, G`, runs * runCostS() + (run.quick ? 1 : 25))) continue;
    // A's warm-up, timed: the token pools are sized from the fastest rate seen so far.
    const probe = await runLoad({ connections: plan.connections, ...healthz, durationS: plan.warmupS });
    fastestA = Math.max(fastestA, probe.rps);
    setup.sizer.fromCeiling(fastestA);
    const t = Date.now();
    const sizes = {
      warm: setup.sizer.warmSlice(),
      slice: setup.sizer.slice(),
      revoke: plan.revokedAlgs.includes(alg) ? plan.revokePool : 0,
    };
    const P = (setup.pools[alg] = await buildPools(setup.keys[alg], sizes, setup.checkTokens[alg]));
    log(
      `${alg}: ${P.signed} tokens signed, ${P.forged.length + P.forgedWarm.length} forged (${Date.now() - t} ms; slices sized for ${setup.sizer.maxRps()} req/s)`,
    );
    const peerPid = setup.peers.workerdPid;
    /** @type {import('./run-context.mjs').Slice[]} */
    const slices = [
      { label: `${alg} A ceiling /healthz`, opts: healthz, warm: false },
      // The peers Worker's own floor, to compare with A: the CPU ratios subtract A from both sides.
      { label: `${alg} A peers /healthz`, opts: { url: `${setup.peers.url}/healthz`, expect: 200, cpuPid: peerPid } },
      ...peers.map((peer) => ({
        label: `${alg} B ${peer.label}`,
        opts: { url: `${setup.peers.url}/${peer.id}/${alg}`, tokens: P.B, expect: 200, cpuPid: peerPid },
        warm: { tokens: P.warm },
      })),
      ...modes.flatMap((mode) => {
        const url = `${setup.ks[mode].url}/v1/verify`;
        const cpuPid = setup.ks[mode].workerdPid;
        return [
          { label: `${alg} C ${mode}, distinct tokens`, opts: { url, tokens: P.C, expect: 200, cpuPid }, warm: { tokens: P.warm2 } },
          { label: `${alg} D ${mode}, one token`, opts: { url, token: P.check[0], expect: 200, cpuPid } },
          {
            label: `${alg} G ${mode}, forged tokens`,
            opts: { url, tokens: P.forged, expect: 401, cpuPid },
            warm: { tokens: P.forgedWarm },
          },
        ];
      }),
    ];
    const { results: measured } = await interleave(slices);
    const [A, A_peers, ...rest] = measured;
    fastestA = Math.max(fastestA, A.rps);
    Object.assign(S, { A, A_peers });
    S.B = Object.fromEntries(peers.map((peer, i) => [peer.id, rest[i]]));
    for (const [m, mode] of modes.entries()) {
      const [C, D, G] = rest.slice(peers.length + 3 * m);
      S[mode] = { C, D, G };
    }
  }
}

/**
 * Before any load: every Worker answers as expected (valid → 200, forged → 401 bad_signature).
 * @param {Setup} setup
 */
export async function sanityCheck(setup) {
  for (const alg of ALGS) {
    const [good] = setup.checkTokens[alg];
    const bad = forge(setup.checkTokens[alg][199]);
    for (const [mode, worker] of Object.entries(setup.ks)) {
      const ok = await fetch(`${worker.url}/v1/verify`, { headers: bearer(good) });
      if (ok.status !== 200)
        throw new Error(
          `killswitch (${mode}) refused a valid ${alg} token: ${ok.status} ${await ok.text()}\n${worker.output().slice(-3000)}`,
        );
      const no = await (await fetch(`${worker.url}/v1/verify`, { headers: bearer(bad) })).text();
      if (!no.includes('bad_signature')) throw new Error(`killswitch (${mode}), forged ${alg} token: ${no}`);
    }
    for (const peer of PEERS.filter((p) => p.algs.includes(alg))) {
      const ok = await fetch(`${setup.peers.url}/${peer.id}/${alg}`, { headers: bearer(good) });
      if (ok.status !== 200)
        throw new Error(
          `peer ${peer.label} refused a valid ${alg} token: ${ok.status} ${await ok.text()}\n${setup.peers.output().slice(-3000)}`,
        );
      const no = await fetch(`${setup.peers.url}/${peer.id}/${alg}`, { headers: bearer(bad) });
      if (no.status !== 401) throw new Error(`peer ${peer.label} accepted a forged ${alg} token: ${no.status}`);
    }
  }
}
