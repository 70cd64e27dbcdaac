/**
 * `npm run bench` sends its load to the user Worker's own workerd socket, skipping the proxy
 * workerd that `wrangler dev` runs on the public port (bench/lib/direct-socket.mjs). This checks
 * the search against a real `wrangler dev`: the port it finds belongs to another workerd in
 * wrangler's process group, and the Worker answers there as on the public port.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findUserWorkerSocket, listeningPorts } from '../../bench/lib/direct-socket.mjs';
import { useDemoWorker } from '../helpers/demo';

const worker = useDemoWorker();

describe.runIf(process.platform === 'linux')('the user Worker’s own socket under wrangler dev', () => {
  it('is another workerd of the same process group than the public port’s, and answers like it', async () => {
    const { dev } = worker;
    const direct = await findUserWorkerSocket(dev);
    const publicPort = Number(new URL(dev.url).port);
    expect(direct.port).not.toBe(publicPort);
    expect(direct.url).toBe(`http://127.0.0.1:${direct.port}`);
    // The process holding it is a workerd in wrangler's group, and not the one on the public port.
    expect(readFileSync(`/proc/${direct.pid}/comm`, 'utf8').trim()).toBe('workerd');
    const stat = readFileSync(`/proc/${direct.pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])).toBe(dev.pid);
    expect(listeningPorts(direct.pid)).toContain(direct.port);
    expect(listeningPorts(direct.pid)).not.toContain(publicPort);
    // The same Worker answers there: health, and a route that runs the app.
    const health = await fetch(`${direct.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const verify = await fetch(`${direct.url}/v1/verify`);
    expect(verify.status).toBe(401);
    expect(await verify.json()).toMatchObject({ reason: 'missing_token' });
  });
});
