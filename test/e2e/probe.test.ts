/**
 * `npm run probe` (scripts/probe.mjs) against a real `wrangler dev` with the demo configuration:
 * it mints tokens through POST /v1/sessions (or takes --token), revokes them, polls every
 * 20 ms, and reports first-refusal delays and 503 counts — without ever printing the admin
 * key or a token. A short run; docs/deploy.md says how to run it against a deployment.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locationOf, summarize, type RefusalSample } from '../../scripts/lib/first-refusal.mjs';
import { demoVars, mintDemo, ROOT, useDemoWorker } from '../helpers/demo';

const ADMIN_KEY = demoVars().ADMIN_API_KEYS as string;
const run = promisify(execFile);

const worker = useDemoWorker();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'killswitch-probe-test-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface ProbeRun {
  code: number;
  out: string;
  json:
    | {
        summary: {
          samples: number;
          measured: number;
          failed: number;
          errors: string[];
          revoke503: number;
          verify503: number;
          polls: number;
          refusedAfterAckMs: { p50?: number; p99?: number; max?: number };
          refusalLocations: Record<string, number>;
        };
        samples: Array<{ refusalReason?: string; refusedAfterAckMs?: number; revokeStatus: number; error?: string }>;
      }
    | undefined;
}

async function probe(args: string[], env: Record<string, string> = {}): Promise<ProbeRun> {
  const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.json`);
  const argv = ['scripts/probe.mjs', '--url', worker.url, '--confirm-ms', '100', '--timeout-ms', '3000', '--json', file, ...args];
  let code = 0;
  let out: string;
  try {
    const r = await run(process.execPath, argv, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 45_000 });
    out = r.stdout + r.stderr;
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    code = e.code;
    out = e.stdout + e.stderr;
  }
  let json: ProbeRun['json'];
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as ProbeRun['json'];
  } catch {
    json = undefined;
  }
  return { code, out, json };
}

const verify = (token: string) => fetch(`${worker.url}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } });

describe('npm run probe against wrangler dev', () => {
  it('mints through /v1/sessions, revokes, and reports p50/p99/max and 503 counts; the admin key is never printed', async () => {
    const r = await probe(['--admin-key', ADMIN_KEY, '--samples', '3']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain(ADMIN_KEY);
    expect(r.out).not.toMatch(/eyJ[\w-]+\.[\w-]+\./); // no token either
    expect(r.out).toMatch(/first refusal after the revocation's 2xx: p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms \(3\/3 samples\)/);
    expect(r.out).toContain('503 answers:                               0 to POST /v1/revoke, 0 to GET /v1/verify');
    expect(r.out).toContain('other answers to GET /v1/verify:           0 ');
    expect(r.out).toContain('verdict: p99 ≤ 1000 ms, no 503s or other failed answers from this location');
    const { summary, samples } = r.json!;
    expect(summary).toMatchObject({ samples: 3, measured: 3, failed: 0, revoke503: 0, verify503: 0 });
    expect(summary.refusalLocations).toEqual({ '-': 3 }); // wrangler dev sends no cf-ray
    for (const s of samples) {
      expect(s.revokeStatus).toBe(200);
      expect(s.refusalReason).toBe('revoked_token');
      expect(s.refusedAfterAckMs).toBeGreaterThanOrEqual(0);
      expect(s.refusedAfterAckMs).toBeLessThan(3000);
    }
    expect(summary.refusedAfterAckMs.max).toBeGreaterThanOrEqual(summary.refusedAfterAckMs.p50!);
    // Polled on past the first refusal (the confirmation window: ≥ 2 more polls each), not just once.
    expect(summary.polls).toBeGreaterThanOrEqual(9);
    expect(JSON.stringify(r.json)).not.toContain(ADMIN_KEY);
  });

  it('--token: revokes the given token (read from KILLSWITCH_ADMIN_KEY), which stays refused afterwards', async () => {
    const token = await mintDemo('--sub', 'probe-given');
    expect((await verify(token)).status).toBe(200);
    const r = await probe(['--token', token], { KILLSWITCH_ADMIN_KEY: ADMIN_KEY });
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain(token);
    expect(r.json!.summary).toMatchObject({ samples: 1, measured: 1 });
    const after = await verify(token);
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ reason: 'revoked_token' });
  });

  it('a token that does not verify to begin with measures nothing, and the run fails', async () => {
    const token = await mintDemo('--sub', 'probe-forged');
    const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(86)}`;
    const r = await probe(['--admin-key', ADMIN_KEY, '--token', forged]);
    expect(r.code).toBe(1);
    expect(r.json!.summary).toMatchObject({ samples: 1, measured: 0, failed: 1 });
    expect(r.json!.summary.errors[0]).toMatch(/did not verify before the revocation: 401 bad_signature/);
  });

  it('a wrong admin key: says so, exits non-zero, and does not print the key it was given', async () => {
    const wrong = 'wrong-admin-key-0123456789abcdef';
    const r = await probe(['--admin-key', wrong, '--samples', '1']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/POST \/v1\/sessions answered 401/);
    expect(r.out).not.toContain(wrong);
  });
});

describe('first-refusal helpers (what wrangler dev cannot show)', () => {
  it('the serving location is the cf-ray suffix; no cf-ray is "-"', () => {
    expect(locationOf(new Headers({ 'cf-ray': '8f1c2d3e4a5b6c7d-FRA' }))).toBe('FRA');
    expect(locationOf(new Headers({ 'cf-ray': '8f1c2d3e4a5b6c7d' }))).toBe('-');
    expect(locationOf(new Headers())).toBe('-');
  });

  it('summarize: nearest-rank p50/p99/max over the measured samples, failures and 503s counted, locations tallied', () => {
    const sample = (refusedAfterAckMs: number | undefined, more: Partial<RefusalSample> = {}): RefusalSample => ({
      error: refusedAfterAckMs === undefined ? 'still accepted' : undefined,
      revokeStatus: 200,
      revoke503: 0,
      revokeCallMs: 50,
      revokeLocation: 'FRA',
      firstRefusedAfterAckMs: refusedAfterAckMs,
      refusedAfterAckMs,
      acceptedAfterRefusal: 0,
      refusalReason: 'revoked_token',
      refusalLocation: 'FRA',
      polls: 3,
      verify503: 0,
      verifyErrors: 0,
      locations: ['FRA'],
      ...more,
    });
    const s = summarize([
      ...Array.from({ length: 98 }, (_, i) => sample(i + 1)),
      sample(900, { refusalLocation: 'AMS', verify503: 2, acceptedAfterRefusal: 1 }),
      sample(undefined, { revoke503: 1 }),
    ]);
    expect(s).toMatchObject({
      samples: 100,
      measured: 99,
      failed: 1,
      errors: ['still accepted'],
      revoke503: 1,
      verify503: 2,
      acceptedAfterRefusal: 1,
      polls: 300,
    });
    expect(s.refusedAfterAckMs).toEqual({ p50: 50, p99: 900, max: 900 });
    expect(s.refusalLocations).toEqual({ FRA: 98, AMS: 1 });
  });
});
