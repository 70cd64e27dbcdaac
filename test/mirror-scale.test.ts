/**
 * Bounded mode's mirror at scale (issue 11 "Memory"): 100,000 and 1,000,000 active entries
 * (a tenth users, the rest denylisted tokens) written as the real KV snapshot, loaded by a
 * cold mirror through the real KV and feed replicas. Prints the figures docs/consistency.md
 * quotes — snapshot bytes, table bytes, cold-load time, check p50 against an empty mirror —
 * and asserts what must hold: the tables fit the documented budget, every entry is found,
 * and a lookup stays well under a microsecond. 1,000,000 entries take ~25 s here, so `npm test`
 * runs 100,000 and the million on demand:
 *   VITE_MIRROR_SCALE_1M=1 npx vitest run --configLoader runner --project workers test/mirror-scale.test.ts
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getConfig } from '../src/config/config';
import { encodeSnapshot } from '../src/feed/feed-snapshot';
import { FingerprintTable, fingerprintWords } from '../src/feed/fingerprint-table';
import { feedAccessFor } from '../src/feed/feed-client';
import { Mirror, MIRROR_MAX_ENTRIES, type MirrorKeys } from '../src/feed/mirror';
import { checkMirror } from '../src/revocation/revocation-check';
import { FEED_SNAPSHOT_KV_KEY } from '../src/revocation/storage-keys';
import type { AuthenticToken } from '../src/verify/token';
import { authenticate } from '../src/verify/verifier';
import { boundedEnv } from './helpers/bounded';
import { mint, now } from './helpers/tokens';

const hex = (words: Uint32Array, i: number) => words[i]!.toString(16).padStart(8, '0') + words[i + 1]!.toString(16).padStart(8, '0');

function snapshotOf(entries: number): { buffer: ArrayBuffer; sample: string[] } {
  const users = Math.floor(entries / 10);
  const tokens = entries - users;
  const random = new Uint32Array(2 * entries);
  for (let i = 0; i < random.length; i += 16_384) crypto.getRandomValues(random.subarray(i, i + 16_384));
  const until = now() + 3600;
  const buffer = encodeSnapshot({
    seq: 0,
    writtenAt: Date.now(),
    globalRevokedBefore: 0,
    users: Array.from({ length: users }, (_, i) => ({ fp: hex(random, 2 * i), version: 1, revokedBefore: 1, until })),
    tokens: Array.from({ length: tokens }, (_, i) => ({ fp: hex(random, 2 * (users + i)), until })),
  });
  return { buffer, sample: Array.from({ length: 1000 }, (_, i) => hex(random, 2 * (users + Math.floor((i * tokens) / 1000)))) };
}

/**
 * Median per-check time (µs) of checkMirror for one accepted token, on each mirror. The
 * runtime's clock is coarse (about a millisecond), so batches are timed, and the mirrors'
 * batches interleave (after a warm-up) so that neither gets the JIT's or the machine's better moments.
 */
async function checkP50s(mirrors: Mirror[], token: AuthenticToken, bindings: Env): Promise<number[]> {
  const config = getConfig(bindings);
  const feed = feedAccessFor(bindings, config);
  const batch = async (mirror: Mirror, n: number) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      if ((await checkMirror(token, config, mirror, feed, bindings)) !== undefined) throw new Error('refused');
    }
    return ((performance.now() - started) * 1000) / n;
  };
  for (const mirror of mirrors) await batch(mirror, 20_000);
  const times = mirrors.map((): number[] => []);
  for (let round = 0; round < 21; round++) {
    for (let m = 0; m < mirrors.length; m++) times[m]!.push(await batch(mirrors[m]!, 5_000));
  }
  return times.map((t) => t.sort((x, y) => x - y)[t.length >> 1]!);
}

/** Median time (ns) of the lookup alone (Mirror.answer, the only step that differs), misses and hits alternating. */
function answerP50s(mirrors: Mirror[], keys: MirrorKeys[]): number[] {
  const t = now();
  const batch = (mirror: Mirror, n: number) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) mirror.answer(keys[i % keys.length]!, t);
    return ((performance.now() - started) * 1e6) / n;
  };
  for (const mirror of mirrors) batch(mirror, 200_000);
  const times = mirrors.map((): number[] => []);
  for (let round = 0; round < 21; round++) {
    for (let m = 0; m < mirrors.length; m++) times[m]!.push(batch(mirrors[m]!, 100_000));
  }
  return times.map((x) => x.sort((a, b) => a - b)[x.length >> 1]!);
}

describe('the mirror with 100,000 and 1,000,000 active entries', () => {
  const bindings = boundedEnv({ REVOCATION_MAX_STALENESS_MS: '600000' }); // no refresh inside the timing loops
  const figures: Record<string, unknown>[] = [];

  const viteEnv = (import.meta as unknown as { env?: Record<string, string | undefined> }).env ?? {};
  const sizes = viteEnv.VITE_MIRROR_SCALE_1M === '1' ? [100_000, 1_000_000] : [100_000];
  it.each(sizes)(
    '%i entries: memory within the budget, load time, check p50 ≈ empty',
    async (entries) => {
      const token = await authenticate(await mint('es256-1', { claims: { sub: `scale-${entries}` } }), getConfig(bindings));
      if (!token.ok) throw new Error(token.reason);

      const empty = new Mirror(600_000);
      expect(await empty.refresh(feedAccessFor(bindings, getConfig(bindings)))).toBe(true);

      const { buffer, sample } = snapshotOf(entries);
      await env.REVOCATIONS.put(FEED_SNAPSHOT_KV_KEY, buffer);
      const full = new Mirror(600_000);
      const started = performance.now();
      expect(await full.refresh(feedAccessFor(bindings, getConfig(bindings)))).toBe(true);
      const loadMs = performance.now() - started;
      const stats = full.stats();
      expect(stats.users + stats.tokens).toBe(entries);
      // Every denylisted token of the sample is found (answer() is the check's lookup).
      const t = now();
      const keys = sample.map((fp, i): MirrorKeys => {
        const [hi, lo] = fingerprintWords(fp);
        expect(full.answer([0, 0, hi, lo, 0, 0], t)).toMatchObject({ kind: 'fresh', state: { tokenRevoked: true } });
        return i % 2 === 0 ? [i, i + 1, hi, lo, 0, 1] : [i, i + 1, i + 2, i + 3, i + 4, i + 5]; // hits and misses
      });
      const [emptyLookupNs, fullLookupNs] = answerP50s([empty, full], keys) as [number, number];
      const [emptyP50, fullP50] = (await checkP50s([empty, full], token.token, bindings)) as [number, number];

      // The budget of docs/consistency.md: at the cap, tables plus a rebuild's second copy stay under 64 MiB.
      const budget = 2 * (FingerprintTable.bytesFor(MIRROR_MAX_ENTRIES * 0.1, 3) + FingerprintTable.bytesFor(MIRROR_MAX_ENTRIES * 0.9, 1));
      expect(budget).toBeLessThanOrEqual(64 * 2 ** 20);
      expect(stats.tableBytes).toBeLessThanOrEqual(budget / 2);
      figures.push({
        entries,
        snapshotBytes: buffer.byteLength,
        tableBytes: stats.tableBytes,
        loadMs: Math.round(loadMs),
        emptyCheckP50us: +emptyP50.toFixed(2),
        fullCheckP50us: +fullP50.toFixed(2),
        checkRatio: +(fullP50 / emptyP50).toFixed(2),
        emptyLookupP50ns: Math.round(emptyLookupNs),
        fullLookupP50ns: Math.round(fullLookupNs),
      });
      console.error(`mirror-scale ${JSON.stringify(figures.at(-1))}`);
      // A lookup is three probes in typed arrays: about what it costs in an empty mirror (1.1× is
      // the target, measured on a quiet run; 2× leaves room for a machine shared with other runs).
      expect(fullLookupNs).toBeLessThan(2 * emptyLookupNs + 200);
      await env.REVOCATIONS.delete(FEED_SNAPSHOT_KV_KEY);
    },
    120_000,
  );
});
