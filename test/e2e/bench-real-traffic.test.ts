/**
 * The bench's real-traffic mix (bench/lib/real-traffic.mjs): the draws follow Zipf's law and are
 * the same for the same seed (killswitch and the peer get the same requests), and revocations go
 * out at a steady rate, each a `POST /v1/revoke` of the next token with the admin key.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { steadyRevocations, zipfDraws } from '../../bench/lib/real-traffic.mjs';

describe('zipfDraws', () => {
  const N = 3000;
  const draws = zipfDraws(N, 100_000, { exponent: 1, seed: 7 });

  it('draws the k-th item ∝ 1/k: the first about 1/H(N) of the time, the first 1 % of items nearly half', () => {
    expect(draws.every((i) => Number.isInteger(i) && i >= 0 && i < N)).toBe(true);
    const harmonicOf = (n: number) => Array.from({ length: n }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b);
    const harmonic = harmonicOf(N);
    const share = (pred: (i: number) => boolean) => draws.filter(pred).length / draws.length;
    expect(share((i) => i === 0)).toBeCloseTo(1 / harmonic, 2); // ≈ 0.116
    expect(share((i) => i === 1)).toBeCloseTo(1 / 2 / harmonic, 2);
    // The 30 most used of 3,000 tokens: H(30)/H(3000) ≈ 47 % of the calls.
    const top30 = harmonicOf(30) / harmonic;
    expect(Math.abs(share((i) => i < 30) - top30)).toBeLessThan(0.01);
    expect(new Set(draws).size).toBeGreaterThan(N / 2); // the tail is drawn too
  });

  it('is the same sequence for the same seed, another for another', () => {
    expect(zipfDraws(N, 1000, { seed: 7 })).toEqual(draws.slice(0, 1000));
    expect(zipfDraws(N, 1000, { seed: 8 })).not.toEqual(draws.slice(0, 1000));
  });
});

describe('steadyRevocations', () => {
  const calls: { at: number; auth: string | undefined; body: string }[] = [];
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/revoke') calls.push({ at: Date.now(), auth: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"revoked":true}');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('sends the next tokens at the rate asked, with the admin key, and says what they answered', async () => {
    const tokens = Array.from({ length: 100 }, (_, i) => `token-${i}`);
    const started = Date.now();
    const revocations = steadyRevocations(base, 'admin-key-0123456789', tokens, 40);
    await new Promise((done) => setTimeout(done, 1000));
    const result = await revocations.stop();
    // On the clock: as many as the seconds it ran allow (a late timer catches up), …
    expect(result.sent).toBeGreaterThanOrEqual(Math.floor(result.seconds * 40) - 3);
    expect(result.sent).toBeLessThanOrEqual(Math.ceil(result.seconds * 40) + 5);
    expect(result.statuses).toEqual({ 200: result.sent });
    // The first `sent` tokens, each once (concurrent calls may arrive out of order).
    expect(calls.map((c) => c.body).sort()).toEqual(
      tokens
        .slice(0, result.sent)
        .map((t) => `token=${t}`)
        .sort(),
    );
    expect(calls.every((c) => c.auth === 'Bearer admin-key-0123456789')).toBe(true);
    // … and never ahead of it: the i-th call (from 0) not before i / 40 s.
    for (const [i, c] of [...calls].sort((a, b) => a.at - b.at).entries()) expect(c.at - started).toBeGreaterThanOrEqual(i * 25 - 5);
  });
});
