/**
 * reference §5: unauthenticated refusals are rationed per isolate (the first few per reason and
 * interval in full, then one summary line), refusals of authentic tokens are one line each, metrics
 * count every request; LOG_ACCEPTED logs a sample of accepted checks.
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/app';
import { REFUSAL_INTERVAL_MS, REFUSALS_IN_FULL } from '../src/log/refusal-log';
import { metricsSnapshot } from '../src/metrics/metrics';
import { BASE } from './helpers/fixtures';
import { mint, now, withSignature } from './helpers/tokens';

let lines: Record<string, unknown>[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(JSON.parse(String(line)) as Record<string, unknown>);
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A fresh env object: its own configuration, so its own ration of refusal lines. */
const verifier = (extra: Record<string, string | undefined> = {}) => {
  const own = { ...env, ...extra };
  return (authorization?: string) =>
    app.fetch(
      new Request(`${BASE}/v1/verify`, { headers: authorization === undefined ? {} : { Authorization: authorization } }),
      own,
      createExecutionContext(),
    );
};

const verifyCount = (key: string) => metricsSnapshot().requests['/v1/verify']?.[key] ?? 0;

describe('unauthenticated refusals', () => {
  it('a flood of 10,000 forged tokens writes a few lines per reason, then one summary; metrics count all', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2031, 0, 1));
    const valid = await mint('HS256', {
      claims: { exp: Math.floor(Date.UTC(2031, 0, 1, 1) / 1000), iat: Math.floor(Date.UTC(2031, 0, 1) / 1000) },
    });
    const forged: [string, string | undefined][] = [
      ['missing_token', undefined],
      ['malformed', 'Bearer not-a-jwt'],
      ['unknown_key', `Bearer ${await mint('es256-1', { header: { kid: 'nobody' } })}`],
      ['bad_signature', `Bearer ${withSignature(valid, (s) => s.map((b) => b ^ 1))}`],
    ];
    const verify = verifier();
    const before = Object.fromEntries(forged.map(([reason]) => [reason, verifyCount(`refused:${reason}`)]));
    const FLOOD = 10_000;
    for (let i = 0; i < FLOOD; i++) {
      const [reason, authorization] = forged[i % forged.length]!;
      const res = await verify(authorization);
      expect(res.status).toBe(401);
      if (i < forged.length) expect(await res.json()).toMatchObject({ reason });
    }
    for (const [reason] of forged) {
      expect(lines.filter((l) => l.reason === reason)).toHaveLength(REFUSALS_IN_FULL);
      expect(verifyCount(`refused:${reason}`) - before[reason]!).toBe(FLOOD / forged.length);
    }
    expect(lines).toHaveLength(REFUSALS_IN_FULL * forged.length);
    expect(lines[0]).toMatchObject({ route: '/v1/verify', status: 401, reason: 'missing_token' });

    // Nothing runs between requests: the next call after the interval writes its summary.
    lines = [];
    vi.setSystemTime(Date.now() + REFUSAL_INTERVAL_MS);
    expect((await verify('Bearer not-a-jwt')).status).toBe(401);
    const perReason = FLOOD / forged.length - REFUSALS_IN_FULL;
    expect(lines).toEqual([
      {
        event: 'refusals_summary',
        since: new Date(Date.UTC(2031, 0, 1)).toISOString(),
        intervalMs: REFUSAL_INTERVAL_MS,
        suppressed: perReason * forged.length,
        missing_token: perReason,
        malformed: perReason,
        unknown_key: perReason,
        bad_signature: perReason,
      },
      expect.objectContaining({ route: '/v1/verify', status: 401, reason: 'malformed' }),
    ]);
  }, 120_000);

  it('over RPC too', async () => {
    const verifierRpc = (exports as unknown as { Verifier: { verify(token: unknown): Promise<{ reason?: string }> } }).Verifier;
    for (let i = 0; i < 3 * REFUSALS_IN_FULL; i++) expect(await verifierRpc.verify('not-a-jwt')).toMatchObject({ reason: 'malformed' });
    expect(lines.filter((l) => l.route === 'rpc:verify').length).toBeLessThanOrEqual(REFUSALS_IN_FULL);
  });

  it('refusals of authentic tokens stay one line each, with sub and jti', async () => {
    const verify = verifier();
    const expired = await mint('es256-1', { claims: { iat: now() - 7200, exp: now() - 3600, jti: 'old-one' } });
    for (let i = 0; i < 3 * REFUSALS_IN_FULL; i++) expect((await verify(`Bearer ${expired}`)).status).toBe(401);
    expect(lines).toHaveLength(3 * REFUSALS_IN_FULL);
    for (const line of lines) expect(line).toMatchObject({ reason: 'expired', jti: 'old-one', sub: expect.any(String) });
  });
});

// 2,000 checks a test: seconds on a loaded 2-core machine, over vitest's 5 s default.
describe('LOG_ACCEPTED sample rate', { timeout: 60_000 }, () => {
  const CHECKS = 2000;
  const acceptedLines = async (extra: Record<string, string | undefined>) => {
    const verify = verifier(extra);
    const token = await mint('es256-1', { claims: { iat: now() } });
    for (let i = 0; i < CHECKS; i++) expect((await verify(`Bearer ${token}`)).status).toBe(200);
    return lines.filter((l) => l.route === '/v1/verify' && l.status === 200).length;
  };

  it('unset: about 1 % of accepted checks are logged', async () => {
    // Binomial(2000, 0.01): mean 20, outside [3, 60] with a probability under 1e-6.
    const n = await acceptedLines({ LOG_ACCEPTED: undefined });
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThanOrEqual(60);
  });

  it.each<[string, number, number]>([
    ['0.5', 850, 1150],
    ['1', CHECKS, CHECKS],
    ['0', 0, 0],
  ])('LOG_ACCEPTED=%s', async (raw, min, max) => {
    const n = await acceptedLines({ LOG_ACCEPTED: raw });
    expect(n).toBeGreaterThanOrEqual(min);
    expect(n).toBeLessThanOrEqual(max);
  });
});
