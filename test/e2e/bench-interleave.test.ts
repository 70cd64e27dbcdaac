/**
 * The bench's measurement plumbing (issue 20): interleaved rounds (bench/lib/run-context.mjs),
 * slices combined into one result and CPU per request (bench/lib/load.mjs), against a local
 * HTTP server that records what it was sent, and this test process's own CPU.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processCpuMs } from '../../bench/lib/direct-socket.mjs';
import { aboveCeiling, combineLoads, runLoad } from '../../bench/lib/load.mjs';
import { createRun, cut } from '../../bench/lib/run-context.mjs';

const seen: { at: number; path: string; auth: string | undefined }[] = [];
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ at: Date.now(), path: req.url ?? '', auth: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe('runLoad', () => {
  it('stops at the duration asked, not at the next whole second, and reports the CPU of a process', async () => {
    const started = Date.now();
    const r = await runLoad({ url: `${base}/x`, durationS: 0.3, connections: 2, expect: 200, cpuPid: process.pid });
    const took = Date.now() - started;
    expect(took).toBeLessThan(900); // autocannon's default 1 s sampling made it ≥ 1,000 ms
    expect(r.requests).toBeGreaterThan(0);
    expect(r.unexpected).toBe(0);
    // This process sent and answered every request: it spent CPU, in 10 ms ticks.
    expect(r.cpuMs).toBeGreaterThanOrEqual(0);
    expect(r.cpuMs! % 10).toBe(0);
    expect(r.cpuUsPerRequest).toBeCloseTo((1000 * r.cpuMs!) / r.requests, 0);
  });

  it('reads utime + stime of /proc/<pid>/stat in ms', () => {
    const before = processCpuMs(process.pid);
    const cpu = process.cpuUsage();
    while (process.cpuUsage(cpu).user < 150_000); // 150 ms of CPU, however long that takes here
    expect(processCpuMs(process.pid) - before).toBeGreaterThanOrEqual(130);
  });
});

describe('combineLoads and aboveCeiling', () => {
  const part = (requests: number, seconds: number, latencies: number[], cpuMs: number | undefined) => {
    const r = {
      requests,
      seconds,
      rps: requests / seconds,
      p50: null,
      p90: null,
      p99: null,
      max: null,
      statuses: { 200: requests },
      expected: 200,
      unexpected: 0,
      errors: 0,
      timeouts: 0,
      errorMessages: {},
      poolExhausted: false,
      distinctTokens: requests,
      cpuMs,
      cpuUsPerRequest: undefined,
    };
    return Object.defineProperty(r, 'latencies', { value: latencies, enumerable: false });
  };

  it('sums counts and CPU, takes the rate over the summed time and percentiles over every latency', () => {
    const c = combineLoads([part(4, 1, [1, 2, 3, 4], 40), part(6, 2, [5, 6, 7, 8, 9, 10], 20)]);
    expect(c).toMatchObject({ requests: 10, seconds: 3, rps: 3, statuses: { 200: 10 }, distinctTokens: 10, cpuMs: 60 });
    expect(c.cpuUsPerRequest).toBe(6000);
    expect(c.p50).toBe(6);
    expect(c.max).toBe(10);
    expect(JSON.stringify(c)).not.toContain('latencies');
    // A slice without a CPU figure: none for the whole.
    expect(combineLoads([part(4, 1, [1], 40), part(4, 1, [1], undefined)]).cpuUsPerRequest).toBeUndefined();
  });

  it('(peer − ceiling) ÷ (killswitch − ceiling); null when killswitch is not above the ceiling or a figure is missing', () => {
    const cpu = (us: number | undefined) => ({ ...part(1, 1, [1], 0), cpuUsPerRequest: us });
    expect(aboveCeiling(cpu(300), cpu(250), cpu(200))).toBe(2);
    expect(aboveCeiling(cpu(300), cpu(400), cpu(200))).toBe(0.5);
    expect(aboveCeiling(cpu(300), cpu(190), cpu(200))).toBeNull();
    expect(aboveCeiling(cpu(300), cpu(undefined), cpu(200))).toBeNull();
  });
});

describe('interleave', () => {
  it('runs the slices in rounds, the order reversed every other round, each pool cut so no token is sent twice', async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...m: unknown[]) => void lines.push(m.join(' '));
    const plan = { budgetS: 60, durationS: 0.6, warmupS: 0.1, rounds: 2, connections: 2 };
    const run = createRun({ plan: plan as never, quick: true, path: 'direct', machine: {} as never, git: {} as never });
    const tokens = Array.from({ length: 40_000 }, (_, i) => `t${i}`);
    const stops: number[] = [];
    seen.length = 0;
    const {
      results: [a, b],
      during,
    } = await run
      .interleave([
        { label: 'a', opts: { url: `${base}/a`, tokens, expect: 200 }, warm: { tokens: ['w'] } },
        {
          label: 'b',
          opts: { url: `${base}/b`, expect: 200 },
          warm: false,
          during: (round: number) => ({ stop: async () => (stops.push(round), `stopped ${round}`) }),
        },
      ])
      .finally(() => (console.log = log));
    // Runs of consecutive paths: the warm-up and round 1 (a, b), round 2 reversed (b, a).
    // (Requests of the test before may still arrive: only /a and /b count.)
    const ours = seen.filter((s) => s.path === '/a' || s.path === '/b');
    const runs = ours.map((s) => s.path).filter((p, i, all) => i === 0 || p !== all[i - 1]);
    expect(runs).toEqual(['/a', '/b', '/a']);
    const aTokens = ours.filter((s) => s.path === '/a' && s.auth !== 'Bearer w').map((s) => s.auth);
    expect(new Set(aTokens).size).toBe(aTokens.length);
    // Round 2's tokens come from the second half of the pool.
    const second = [...ours].reverse().find((s) => s.path === '/a')!.auth!;
    expect(Number(second.slice('Bearer t'.length))).toBeGreaterThanOrEqual(20_000);
    // Every answered request reached the server; a stop drops at most one in flight per connection and run.
    const sent = ours.length - ours.filter((s) => s.auth === 'Bearer w').length;
    expect(a.requests + b.requests).toBeLessThanOrEqual(sent);
    expect(a.requests + b.requests).toBeGreaterThanOrEqual(sent - 2 * 5);
    expect(a.seconds).toBeGreaterThan(0.5);
    expect(a.seconds).toBeLessThan(1);
    expect(stops).toEqual([0, 1]);
    expect(during[1]).toEqual(['stopped 0', 'stopped 1']);
    expect(lines.some((l) => l.includes('2 interleaved rounds'))).toBe(true);
  });

  it('goes on with a repeated sequence where the last run on its URL stopped', async () => {
    const log = console.log;
    console.log = () => undefined;
    const plan = { budgetS: 60, durationS: 0.4, warmupS: 0.1, rounds: 2, connections: 1 };
    const run = createRun({ plan: plan as never, quick: true, path: 'direct', machine: {} as never, git: {} as never });
    const order = Array.from({ length: 1_000_000 }, (_, i) => `d${i}`);
    seen.length = 0;
    await run
      .interleave([
        { label: 'z', opts: { url: `${base}/z`, tokens: order, wrap: true, expect: 200 } },
        { label: 'z again', opts: { url: `${base}/z`, tokens: order, wrap: true, expect: 200 }, warm: false },
      ])
      .finally(() => (console.log = log));
    // One connection: the draws reach the server in order, each sent once across warm-up and slices.
    const draws = seen.filter((s) => s.path === '/z').map((s) => Number(s.auth!.slice('Bearer d'.length)));
    expect(draws[0]).toBe(0);
    expect(draws.length).toBeGreaterThan(20);
    expect(new Set(draws).size).toBeGreaterThanOrEqual(draws.length - 5); // a stop may drop one in flight per run
    expect(Math.max(...draws)).toBeLessThan(draws.length + 5);
  });

  it('cuts a pool into equal parts', () => {
    expect(cut([1, 2, 3, 4, 5], 0, 2)).toEqual([1, 2, 3]);
    expect(cut([1, 2, 3, 4, 5], 1, 2)).toEqual([4, 5]);
  });
});
