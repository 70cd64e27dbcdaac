import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { mint } from './helpers/tokens';

describe('smoke', () => {
  it('healthz', async () => {
    const res = await exports.default.fetch('http://ks.test/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
  it.each(['es256-1', 'rs256-1', 'ps256-1', 'es384-1', 'ed-1', 'HS256', 'HS384', 'HS512', 'second-1', 'remote-a'] as const)('verifies %s', async (key) => {
    const token = await mint(key);
    const res = await exports.default.fetch('http://ks.test/v1/verify', { headers: { Authorization: `Bearer ${token}` } });
    expect(await res.json()).toMatchObject({ active: true });
    expect(res.status).toBe(200);
  });
});
