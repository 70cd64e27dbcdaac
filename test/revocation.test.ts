/**
 * reference §4.1: revocations take effect on the very next verification, in cached (KV) and
 * strict (DO) mode, over HTTP and over the Verifier RPC entrypoint. Revoke-all lives in its
 * own file (test/revoke-all.test.ts): it refuses every token of this file's isolate storage.
 */
import { exports, env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { base64url } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { app } from '../src/app';
import { userKvKey } from '../src/revocation/storage-keys';
import { ADMIN_KEY, BASE } from './helpers/fixtures';
import { mint, now, p256Twin, signRaw, uniqueSub, type SigningKey } from './helpers/tokens';

const MODES = ['cached', 'strict', 'rpc', 'rpc-strict'] as const;
type Mode = (typeof MODES)[number];

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${ADMIN_KEY}`);
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
}

const revokeUser = async (sub: string): Promise<{ sub: string; version: number; revokedBefore: number }> => {
  const res = await admin(`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, { method: 'POST' });
  expect(res.status).toBe(200);
  return res.json();
};

async function rfc7009Revoke(token: string): Promise<void> {
  const res = await admin('/v1/revoke', { method: 'POST', body: new URLSearchParams({ token }) });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('');
}

/** `'active'` or the reason code, through one of the four entry points. */
async function outcome(token: string, mode: Mode): Promise<string> {
  if (mode === 'rpc' || mode === 'rpc-strict') {
    const result = await exports.Verifier.verify(token, mode === 'rpc-strict' ? { strict: true } : undefined);
    return result.active ? 'active' : result.reason;
  }
  const res = await exports.default.fetch(`${BASE}/v1/verify${mode === 'strict' ? '?strict=1' : ''}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = await res.json<{ active: boolean; reason?: string }>();
  if (res.status === 200 && body.active) return 'active';
  expect(res.status).toBe(401);
  expect(res.headers.get('WWW-Authenticate')).toBe(`Bearer error="invalid_token", error_description="${body.reason}"`);
  expect(body).toEqual({ active: false, error: 'invalid_token', reason: body.reason });
  return body.reason ?? 'no reason';
}

async function outcomes(token: string): Promise<Record<Mode, string>> {
  const entries = await Promise.all(MODES.map(async (mode) => [mode, await outcome(token, mode)] as const));
  return Object.fromEntries(entries) as Record<Mode, string>;
}
const everywhere = (value: string): Record<Mode, string> => Object.fromEntries(MODES.map((mode) => [mode, value])) as Record<Mode, string>;

/** REVOCATION_IAT_MARGIN_SECONDS's default (the test env does not set it). */
const IAT_MARGIN = 2;

const text = (segment: string) => new TextDecoder().decode(base64url.decode(segment));

describe('denylisted tokens', () => {
  it.each(MODES)('a revoked jti is refused on the very next %s verification', async (mode) => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('jti') } });
    expect(await outcome(token, mode)).toBe('active');
    await rfc7009Revoke(token);
    expect(await outcome(token, mode)).toBe('revoked_token');
  });

  it('a token without jti is revocable, and a re-signed or malleated signature stays revoked', async () => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('nojti'), jti: undefined } });
    const [header = '', payload = ''] = token.split('.');
    expect(JSON.parse(text(payload))).not.toHaveProperty('jti');
    expect(await outcomes(token)).toEqual(everywhere('active'));
    await rfc7009Revoke(token);
    expect(await outcomes(token)).toEqual(everywhere('revoked_token'));

    // ECDSA signs with a random nonce: same header.payload, another valid signature.
    const resigned = await signRaw(text(header), text(payload), 'es256-1');
    expect(resigned.split('.').slice(0, 2).join('.')).toBe(`${header}.${payload}`);
    expect(resigned).not.toBe(token);
    expect(await outcomes(resigned)).toEqual(everywhere('revoked_token'));

    // (r, s) → (r, n − s) is also a valid P-256 signature of the same input.
    const malleated = p256Twin(token);
    expect(malleated.split('.').slice(0, 2).join('.')).toBe(`${header}.${payload}`);
    expect(await outcomes(malleated)).toEqual(everywhere('revoked_token'));
  });

  it('a denylisted jti is scoped by issuer: the same jti from another issuer is still accepted', async () => {
    const sub = uniqueSub('scope');
    const jti = crypto.randomUUID();
    const inline = await mint('es256-1', { claims: { sub, jti } });
    const hs = await mint('HS256', { claims: { sub, jti } });
    await rfc7009Revoke(inline);
    expect(await outcomes(inline)).toEqual(everywhere('revoked_token'));
    expect(await outcomes(hs)).toEqual(everywhere('active'));
  });

  it.each([
    ['without iss: every issuer', undefined, 'revoked_token', 'revoked_token'],
    ['with iss: that issuer only', 'https://inline.test', 'revoked_token', 'active'],
  ] as const)('POST /v1/admin/tokens/revoke %s', async (_label, iss, inlineOutcome, hsOutcome) => {
    const sub = uniqueSub('byid');
    const jti = crypto.randomUUID();
    const inline = await mint('es256-1', { claims: { sub, jti } });
    const hs = await mint('HS256', { claims: { sub, jti } });
    const res = await admin('/v1/admin/tokens/revoke', {
      method: 'POST',
      body: JSON.stringify({ jti, sub, exp: now() + 600, ...(iss === undefined ? {} : { iss }) }),
    });
    expect(res.status).toBe(200);
    expect(await outcomes(inline)).toEqual(everywhere(inlineOutcome));
    expect(await outcomes(hs)).toEqual(everywhere(hsOutcome));
  });
});

describe('denylist entries: lifetime and key framing (mutation exercise)', () => {
  const TOLERANCE = 30; // CLOCK_TOLERANCE_SECONDS in wrangler.toml

  it('a revoked token stays refused past its exp, through the clock tolerance, in every mode', async () => {
    const sub = uniqueSub('past-exp');
    const exp = now() + 10;
    const token = await mint('es256-1', { claims: { sub, exp } });
    await rfc7009Revoke(token);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime((exp + TOLERANCE - 5) * 1000); // expired, but inside the tolerance: verify alone would accept it
      expect(await outcomes(token)).toEqual(everywhere('revoked_token'));
      vi.setSystemTime((exp + TOLERANCE + 1) * 1000);
      expect(await outcomes(token)).toEqual(everywhere('expired'));
    } finally {
      vi.useRealTimers();
    }
  });

  it("no choice of sub, iss and jti makes one user's denylist entry another's (the key digest keeps the parts apart)", async () => {
    const base = uniqueSub('frame');
    // Joined with a separator, ("<base>|", any issuer, "j") and ("<base>", any issuer, "|j") are the same string.
    const res = await admin('/v1/admin/tokens/revoke', {
      method: 'POST',
      body: JSON.stringify({ sub: `${base}|`, jti: 'j', exp: now() + 600 }),
    });
    expect(await res.json()).toMatchObject({ revoked: true });
    const bystander = await mint('es256-1', { claims: { sub: base, jti: '|j' } });
    expect(await outcomes(bystander)).toEqual(everywhere('active'));
    const target = await mint('es256-1', { claims: { sub: `${base}|`, jti: 'j' } });
    expect(await outcomes(target)).toEqual(everywhere('revoked_token'));
  });
});

describe('user revocation', () => {
  const KEYS: SigningKey[] = ['es256-1', 'rs256-1', 'HS256', 'second-1'];

  it("refuses the sub's earlier tokens from every issuer, and accepts tokens issued margin + 1 s after", async () => {
    const sub = uniqueSub('user');
    const before = await Promise.all(KEYS.map((key) => mint(key, { claims: { sub } })));
    const bystander = await mint('es256-1', { claims: { sub: uniqueSub('bystander') } });
    for (const token of before) expect(await outcomes(token)).toEqual(everywhere('active'));

    const t0 = now();
    const state = await revokeUser(sub);
    expect(state).toEqual({ sub, user: sub, version: 1, revokedBefore: expect.any(Number) });
    expect(state.revokedBefore).toBeGreaterThanOrEqual(t0);
    expect(state.revokedBefore).toBeLessThanOrEqual(now());

    for (const token of before) expect(await outcomes(token)).toEqual(everywhere('revoked_user'));
    expect(await outcomes(bystander)).toEqual(everywhere('active'));
    const sameSecond = await mint('es256-1', { claims: { sub, iat: state.revokedBefore } });
    expect(await outcomes(sameSecond)).toEqual(everywhere('revoked_user'));
    // The iat gap: an issuer clock running ahead stamps a token minted before the call after it.
    for (const key of KEYS) {
      const withinMargin = await mint(key, { claims: { sub, iat: state.revokedBefore + IAT_MARGIN } });
      expect(await outcomes(withinMargin)).toEqual(everywhere('revoked_user'));
      const after = await mint(key, { claims: { sub, iat: state.revokedBefore + IAT_MARGIN + 1 } });
      expect(await outcomes(after)).toEqual(everywhere('active'));
    }
  });

  it.each([
    ['an older version claim', 1, 1, 'revoked_user'],
    ['the current version claim', 2, 1, 'active'],
    ['the current version claim, issued before', 2, 0, 'revoked_user'],
    ['the current version claim, within the iat margin', 2, 2, 'active'],
    ['no version claim, within the iat margin', undefined, 2, 'revoked_user'],
    ['a newer version claim', 3, 1, 'active'],
  ] as const)('after two bumps, a token with %s is %s', async (_label, ver, iatOffset, expected) => {
    const sub = uniqueSub('ver');
    await revokeUser(sub);
    const state = await revokeUser(sub);
    expect(state.version).toBe(2);
    const token = await mint('es256-1', { claims: { sub, ver, iat: state.revokedBefore + iatOffset } });
    expect(await outcomes(token)).toEqual(everywhere(expected));
  });

  it('200 concurrent revocations of one sub raise its version by exactly 200', async () => {
    const sub = uniqueSub('burst');
    const results = await Promise.all(Array.from({ length: 200 }, () => revokeUser(sub)));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));

    const res = await admin(`/v1/admin/users/${encodeURIComponent(sub)}`);
    const state = await res.json<{ version: number; revokedBefore: number }>();
    expect(state.version).toBe(200);
    const replica = await env.REVOCATIONS.get(await userKvKey(sub), 'json');
    expect(replica).toEqual({ version: 200, revokedBefore: state.revokedBefore });
  }, 30_000);
});

/** The real bindings with their reads counted, or failing on demand. */
function instrumentedEnv(overrides: Record<string, unknown> = {}, fail: { kv?: boolean; dos?: boolean } = {}) {
  const reads = { kv: 0, userState: 0, globalState: 0 };
  const wrap = <T extends object>(target: T, method: string, onCall: () => void): T =>
    new Proxy(target, {
      get(t, p) {
        const value = Reflect.get(t, p) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (p === method) onCall();
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const boom = (what: string) => {
    throw new Error(`injected ${what} failure`);
  };
  const testEnv = {
    ...env,
    ...overrides,
    REVOCATIONS: wrap(env.REVOCATIONS, 'get', () => {
      reads.kv++;
      if (fail.kv) boom('KV read');
    }),
    USER_STATE: wrap(env.USER_STATE, 'getByName', () => {
      reads.userState++;
      if (fail.dos) boom('DO');
    }),
    GLOBAL_STATE: wrap(env.GLOBAL_STATE, 'getByName', () => {
      reads.globalState++;
      if (fail.dos) boom('DO');
    }),
  } as Env;
  const verify = (token: string, strict = false) =>
    app.fetch(
      new Request(`${BASE}/v1/verify${strict ? '?strict=1' : ''}`, { headers: { Authorization: `Bearer ${token}` } }),
      testEnv,
      createExecutionContext(),
    );
  return { reads, verify };
}

describe('state is read only for genuine tokens', () => {
  it.each([false, true])('strict=%s: forged and expired tokens of a revoked user read no state', async (strict) => {
    const sub = uniqueSub('forged');
    const other = await mint('es256-1', { claims: { sub } });
    const valid = await mint('es256-1', { claims: { sub } });
    const forged = `${valid.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`;
    const expired = await mint('es256-1', { claims: { sub, iat: now() - 1000, exp: now() - 100 } });
    await revokeUser(sub);

    for (const [token, reason] of [
      [forged, 'bad_signature'],
      [expired, 'expired'],
    ] as const) {
      const { reads, verify } = instrumentedEnv();
      const res = await verify(token, strict);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ reason });
      expect(reads).toEqual({ kv: 0, userState: 0, globalState: 0 });
    }
    const { reads, verify } = instrumentedEnv();
    const res = await verify(valid, strict);
    expect(await res.json()).toMatchObject({ reason: 'revoked_user' });
    // Strict: the user's object, and the object of the token's (iss, jti) (a denial naming no user, reference §7).
    expect(reads).toEqual(strict ? { kv: 0, userState: 2, globalState: 1 } : { kv: 1, userState: 0, globalState: 0 });
  });
});

describe('FAIL_MODE when revocation state cannot be read', () => {
  it.each([
    ['cached', 'KV', 'closed', 503],
    ['cached', 'KV', 'open', 200],
    ['strict', 'DO', 'closed', 503],
    ['strict', 'DO', 'open', 200],
    ['strict', 'KV', 'closed', 200], // strict never reads KV
  ] as const)('%s mode, %s failing, FAIL_MODE=%s → %i', async (mode, broken, failMode, status) => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('fail') } });
    const { verify } = instrumentedEnv({ FAIL_MODE: failMode }, { kv: broken === 'KV', dos: broken === 'DO' });
    const res = await verify(token, mode === 'strict');
    expect(res.status).toBe(status);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = await res.json();
    if (status === 503) expect(body).toEqual({ active: false, error: 'temporarily_unavailable', reason: 'unavailable' });
    else expect(body).toMatchObject({ active: true });
  });

  it('a failing KV never turns a revoked token into an accepted one with FAIL_MODE=closed', async () => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('fail-revoked') } });
    await rfc7009Revoke(token);
    const { verify } = instrumentedEnv({ FAIL_MODE: 'closed' }, { kv: true });
    expect((await verify(token)).status).toBe(503);
  });
});
