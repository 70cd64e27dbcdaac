/**
 * The bench's storage-call counter (bench/ks-counting) wraps killswitch's bindings in the
 * Worker itself; it must count without changing what the Worker does. It once wrapped the
 * Promise that KV's `get` returns as if it were a Durable Object stub, so every `await` on a
 * KV read threw: the counted bounded Worker never loaded its mirror and read the writers on
 * every check, which the bench then reported as bounded mode's storage reads. Here a counted
 * bounded Worker under a real `wrangler dev` must answer from its mirror: one snapshot read,
 * feed reads, no writer reads.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKeys, makePool, trustedIssuers } from '../../bench/lib/tokens.mjs';
import { snapshotApp, writeEnvFile } from '../../bench/lib/workers.mjs';
import { ROOT, startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.mjs';

const ADMIN_KEY = 'bench-counting-test-admin-key-0123456789';
let worker: WranglerDev | undefined;
let tmp: string | undefined;
let tokens: string[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'killswitch-bench-counting-'));
  const keys = await makeKeys();
  tokens = await makePool(keys.ES256!, 20);
  const envFile = writeEnvFile(join(tmp, 'counting.env'), {
    TRUSTED_ISSUERS: JSON.stringify(trustedIssuers(keys, 'BENCH_HMAC_SECRET')),
    BENCH_HMAC_SECRET: keys.HS256!.secret!,
    ADMIN_API_KEYS: ADMIN_KEY,
    LOG_ACCEPTED: 'false',
    MAX_TOKEN_LIFETIME_SECONDS: '86400',
    REVOCATION_MODE: 'bounded',
  });
  const snap = snapshotApp({ root: ROOT, benchDir: join(ROOT, 'bench'), dest: join(tmp, 'app') });
  const logDir = join(tmp, 'logs');
  mkdirSync(logDir);
  worker = await startWranglerDev({ name: 'killswitch (counted)', cwd: join(snap, 'counting'), envFile, logDir, timeoutMs: 75_000 });
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}, 20_000);

describe('bench/ks-counting around a bounded Worker', () => {
  it('counts the mirror’s reads and changes none of them: one snapshot read, feed reads, no writer read', async () => {
    const dev = worker!;
    await fetch(`${dev.url}/__bench/reset`);
    for (const token of tokens) {
      const res = await fetch(`${dev.url}/v1/verify`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const { counts, requests } = (await (await fetch(`${dev.url}/__bench/reads`)).json()) as {
      counts: Record<string, number>;
      requests: number;
    };
    expect(requests).toBe(tokens.length);
    expect(counts.REVOCATIONS).toBe(1); // the feed snapshot, once
    expect(counts['REVOCATION_FEED:stub']).toBeGreaterThanOrEqual(1);
    expect(counts['REVOCATION_FEED:stub']).toBe(counts.REVOCATION_FEED); // one read per stub made
    expect(counts.USER_STATE).toBeUndefined();
    expect(counts.GLOBAL_STATE).toBeUndefined();
    const stats = (await (await fetch(`${dev.url}/v1/admin/stats`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as {
      mirror: { snapshotLoads: number; refreshFailures: number; strictReads: number; feedReads: number };
    };
    expect(stats.mirror).toMatchObject({ snapshotLoads: 1, refreshFailures: 0, strictReads: 0 });
    expect(stats.mirror.feedReads).toBeGreaterThanOrEqual(counts['REVOCATION_FEED:stub']!); // a refresh may have begun since
  });
});
