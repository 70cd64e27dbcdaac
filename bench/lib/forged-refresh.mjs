// @ts-check
// Scenario "forged refresh tokens" (issue 10, item 17): POST /v1/token floods with refresh
// tokens of the right shape for invented users. Each must be a 400 invalid_grant that touches
// no Durable Object. Used by bench/run.mjs; runs alone too, against wrangler dev with the demo
// configuration (whose token service is on):
//
//   node bench/lib/forged-refresh.mjs [seconds]
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { runLoad } from './load.mjs';

/** A refresh token of the right shape (rt1_<sub>.<32 bytes>) for an invented user: its tag cannot verify. */
export const forgedRefreshToken = () =>
  `rt1_${Buffer.from(`forged-${randomUUID()}`).toString('base64url')}.${randomBytes(32).toString('base64url')}`;

/**
 * Throughput and latency of forged refreshes at `url`; with `countingUrl` (bench/ks-counting),
 * also the Durable Object calls that 200 of them made (expected: none).
 * @param {{ url: string, countingUrl?: string, connections?: number, durationS?: number }} o
 */
export async function forgedRefreshScenario({ url, countingUrl, connections = 50, durationS = 2 }) {
  const body = () => `grant_type=refresh_token&refresh_token=${forgedRefreshToken()}`;
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const run = await runLoad({
    url: `${url}/v1/token`,
    method: 'POST',
    connections,
    durationS,
    headers,
    body: body(),
    expect: 400,
    vary: () => ({ body: body() }),
  });
  if (countingUrl === undefined) return { ...run, stateCallsFor200: undefined };
  await fetch(`${countingUrl}/__bench/reset`);
  for (let i = 0; i < 200; i++) {
    await fetch(`${countingUrl}/v1/token`, { method: 'POST', headers, body: body() }).then((r) => r.arrayBuffer());
  }
  const reads = await (await fetch(`${countingUrl}/__bench/reads`)).json();
  return { ...run, stateCallsFor200: reads };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { startWranglerDev, DEMO_ENV } = await import('../../scripts/lib/wrangler-dev.mjs');
  const worker = await startWranglerDev({ name: 'killswitch (forged refresh)', envFile: DEMO_ENV, timeoutMs: 90_000 });
  try {
    const r = await forgedRefreshScenario({ url: worker.url, durationS: Number(process.argv[2] ?? 2) });
    console.log(`forged refresh tokens: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, statuses ${JSON.stringify(r.statuses)}`);
  } finally {
    await worker.stop();
  }
}
