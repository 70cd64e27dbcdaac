#!/usr/bin/env node
// @ts-check
// `node bench/origin.mjs [--seconds 5] [--connections 10] [--rounds 1] [--cpu-prof DIR]`: revocation at the origin,
// for free? The same Express app with `jose` alone, then with killswitch/client (jose, then
// isRevoked from the in-process mirror, fed by the worker under `wrangler dev`, bounded mode), each
// in its own Node process, loaded in turn by autocannon (jose, killswitch, killswitch, jose, per
// round): one run gives the req/s ratio, killswitch ÷ jose (target ≥ 0.95), and each origin's CPU
// per request (from /proc, on Linux), which a loaded machine disturbs far less than req/s.
// `--cpu-prof DIR`: each origin process writes its V8 CPU profile there (node --cpu-prof) when it is stopped.
// Method: bench/README.md "Origins".
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, parseEnv } from 'node:util';
import { importJWK, SignJWT } from 'jose';
import { importTs } from '../scripts/lib/import-ts.mjs';
import { DEMO_ENV, DEMO_ISSUER, ROOT, startWranglerDev, stopAll } from '../scripts/lib/wrangler-dev.mjs';
import { runLoad } from './lib/load.mjs';

const demo = /** @type {Record<string, string>} */ (parseEnv(readFileSync(DEMO_ENV, 'utf8')));
const jwks = JSON.parse(demo.TRUSTED_ISSUERS ?? '[]').find((/** @type {{ issuer: string }} */ i) => i.issuer === DEMO_ISSUER).jwks;
const feedKey = (demo.FEED_API_KEYS ?? '').split(',')[0] ?? '';

/** A process's CPU time (user + system) in ms, or NaN without /proc. */
function cpuMs(/** @type {number | undefined} */ pid) {
  const stat = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(stat)) return NaN;
  const fields = readFileSync(stat, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
}

if (process.argv[2] === '--serve') {
  // A child: one origin, its port on stdout.
  const { startOrigin } = /** @type {{ startOrigin: (mode: string, o: object) => Promise<number> }} */ (
    await importTs('bench/origin-server.ts')
  );
  process.once('SIGTERM', () => process.exit(0)); // a normal exit: --cpu-prof writes its profile
  const port = await startOrigin(process.argv[3] ?? 'jose', { killswitchUrl: process.argv[4], feedKey, issuer: DEMO_ISSUER, jwks });
  console.log(`port ${port}`);
} else {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '1' },
      'cpu-prof': { type: 'string' },
    },
  });
  const durationS = Number(values.seconds);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const worker = await startWranglerDev({
    name: 'killswitch (bench origin)',
    envFile: DEMO_ENV,
    vars: ['REVOCATION_MODE:bounded', 'MAX_TOKEN_LIFETIME_SECONDS:3600'],
  });
  try {
    const jwk = JSON.parse(readFileSync(join(ROOT, 'dev/demo-issuer.private.jwk.json'), 'utf8'));
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      iss: DEMO_ISSUER,
      aud: 'api',
      sub: 'bench-origin',
      iat: now,
      exp: now + 3600,
      jti: 'bench-origin',
      ver: 0,
    })
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
      .sign(await importJWK(jwk, jwk.alg));
    /** @type {Record<string, number[]>} */
    const rps = { jose: [], killswitch: [] };
    /** @type {Record<string, { ms: number, requests: number }>} */
    const cpu = { jose: { ms: 0, requests: 0 }, killswitch: { ms: 0, requests: 0 } };
    for (const mode of Array.from({ length: rounds }, () => ['jose', 'killswitch', 'killswitch', 'jose']).flat()) {
      const profile =
        values['cpu-prof'] === undefined
          ? []
          : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof'], '--cpu-prof-name', `${mode}-${Date.now()}.cpuprofile`];
      const child = spawn(process.execPath, [...profile, join(ROOT, 'bench/origin.mjs'), '--serve', mode, worker.url], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const port = await new Promise((resolve, reject) => {
          child.stdout.on('data', (chunk) => {
            const match = /port (\d+)/.exec(String(chunk));
            if (match) resolve(Number(match[1]));
          });
          child.once('exit', (code) => reject(new Error(`${mode} origin exited with ${code}`)));
        });
        const url = `http://127.0.0.1:${port}/api/me`;
        await runLoad({ url, token, durationS: 1, connections, expect: 200 }); // warm-up
        const cpuBefore = cpuMs(child.pid);
        const result = await runLoad({ url, token, durationS, connections, expect: 200 });
        const cpuUsed = cpuMs(child.pid) - cpuBefore;
        if (cpu[mode]) cpu[mode] = { ms: cpu[mode].ms + cpuUsed, requests: cpu[mode].requests + result.requests };
        if (result.unexpected > 0 || result.errors > 0)
          throw new Error(`${mode}: ${result.unexpected} unexpected answers, ${result.errors} errors`);
        rps[mode]?.push(result.rps);
        const perRequest = ((cpuUsed * 1000) / result.requests).toFixed(0);
        console.log(
          `${mode.padEnd(10)} ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${perRequest} µs CPU/request`,
        );
      } finally {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited; // its profile written, its CPU no longer in the next slice's way
      }
    }
    const sum = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0);
    const ratio = sum(rps.killswitch ?? []) / sum(rps.jose ?? []);
    console.log(
      `origin: Express + isRevoked ÷ Express + jose alone = ${ratio.toFixed(3)} (target ≥ 0.95; ${durationS} s × ${2 * rounds} each, ${connections} connections)`,
    );
    const perRequest = (/** @type {{ ms: number, requests: number }} */ c) => (c.ms * 1000) / c.requests;
    const [joseCpu, killswitchCpu] = [
      perRequest(cpu.jose ?? { ms: NaN, requests: 1 }),
      perRequest(cpu.killswitch ?? { ms: NaN, requests: 1 }),
    ];
    console.log(
      `origin CPU per request: jose ${joseCpu.toFixed(0)} µs, killswitch ${killswitchCpu.toFixed(0)} µs (ratio jose ÷ killswitch ${(joseCpu / killswitchCpu).toFixed(3)})`,
    );
  } finally {
    await worker.stop();
    await stopAll();
  }
}
