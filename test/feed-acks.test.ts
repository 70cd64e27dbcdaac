/**
 * Issue 18, the write side: concurrent revocations are all acknowledged while the feed is
 * healthy (a writer's flush and the primary's pushes are group commits: a caller waits for the
 * batch that holds its change, not for an empty queue). Real Durable Objects, KV and Cache.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { boundedEnv } from './helpers/bounded';
import { call } from './helpers/faults';
import { uniqueSub } from './helpers/tokens';

beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

const revokeUser = (bindings: Env, sub: string) =>
  call(bindings, `/v1/admin/users/${encodeURIComponent(sub)}/revoke`, { method: 'POST', admin: true, body: '{}' });

describe('concurrent revocations, bounded mode, healthy feed', () => {
  it('50 concurrent bumps of one user all answer 200 and raise the version by exactly 50', async () => {
    const bindings = boundedEnv();
    const sub = uniqueSub('concurrent-one');
    const answers = await Promise.all(Array.from({ length: 50 }, () => revokeUser(bindings, sub)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((a) => a.body.version))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i + 1)));
    expect((await call(bindings, `/v1/admin/users/${sub}`, { admin: true })).body).toMatchObject({ version: 50 });
  }, 30_000);

  it('200 concurrent revocations of distinct users all answer 200', async () => {
    const bindings = boundedEnv();
    const subs = Array.from({ length: 200 }, () => uniqueSub('concurrent-many'));
    const answers = await Promise.all(subs.map((sub) => revokeUser(bindings, sub)));
    expect(answers.filter((a) => a.status !== 200).map((a) => a.status)).toEqual([]);
    expect(answers.every((a) => a.body.version === 1)).toBe(true);
  }, 30_000);
});
