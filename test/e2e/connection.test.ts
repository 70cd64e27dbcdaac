/**
 * What lives on the connection, over real sockets against `wrangler dev` (a SELF.fetch test
 * has no socket and no raw path):
 *  - reference §3.1 path tricks: raw, unnormalized paths (`/v1/verify/../../healthz`, `%2e%2e`) sent
 *    byte for byte. The runtime resolves them before the worker sees the URL, so on an ordinary
 *    host they reach another route; on a FORWARD_AUTH_HOSTS host every path is a check.
 *  - request bodies a route did not read to its end (issue 10, item 18): after a 413, or a 401
 *    or 404 answered before the body, the next request on the same keep-alive connection is
 *    answered at once. (Measured before the fix: only the 413s stalled, 5 s and more, because
 *    the capped reader cancelled the body; bodies never touched are drained by the runtime.)
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_KEY, DEMO_ENV, startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.mjs';
import { mintDemo } from '../helpers/demo';

const FORWARD_HOST = 'auth.test';
let worker: WranglerDev;
let port: number;
let token: string;

beforeAll(async () => {
  worker = await startWranglerDev({
    name: 'killswitch',
    envFile: DEMO_ENV,
    vars: [`FORWARD_AUTH_HOSTS:["${FORWARD_HOST}"]`],
    timeoutMs: 75_000,
  });
  port = Number(new URL(worker.url).port);
  token = await mintDemo('--sub', 'conn-alice');
}, 90_000);

afterAll(async () => {
  await worker?.stop();
}, 20_000);

interface Answer {
  status: number;
  headers: string;
  body: string;
  ms: number;
}

/** A keep-alive HTTP/1.1 connection that sends raw bytes and reads one response at a time. */
class Connection {
  private buffer = Buffer.alloc(0);
  private closed = false;
  private waiting: (() => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', () => undefined);
  }

  static open(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends `raw` and waits (at most `timeoutMs`) for one whole response (Content-Length bodies). */
  async exchange(raw: string | Buffer, timeoutMs = 10_000): Promise<Answer> {
    const started = Date.now();
    this.socket.write(raw);
    const deadline = started + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const headers = this.buffer.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
        if (this.buffer.length >= end + 4 + length) {
          const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
          this.buffer = this.buffer.subarray(end + 4 + length);
          return { status: Number(headers.split(' ')[1]), headers, body, ms: Date.now() - started };
        }
      }
      if (this.closed) throw new Error(`connection closed after ${Date.now() - started} ms`);
      if (Date.now() >= deadline) throw new Error(`no whole response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 100);
      });
      this.waiting = undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const get = (path: string, host = '127.0.0.1', extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

async function once(raw: string): Promise<Answer> {
  const connection = await Connection.open();
  try {
    return await connection.exchange(raw);
  } finally {
    connection.close();
  }
}

describe('forward-auth path tricks (reference §3.1), raw paths over a socket', () => {
  const TRICKS = [
    '/v1/verify/../../healthz',
    '/v1/verify/%2e%2e/%2e%2e/healthz',
    '/v1/verify/%2E%2E/%2e%2E/openapi.json',
    '/v1/verify/..%2f..%2fhealthz',
    '/v1/verify/./../../.well-known/jwks.json',
    '/v1/verify/api/../../../healthz',
  ];

  it('on an ordinary host the runtime resolves `..` before the worker: /v1/verify/../../healthz IS /healthz (why FORWARD_AUTH_HOSTS exists)', async () => {
    const answer = await once(get('/v1/verify/../../healthz'));
    expect([answer.status, answer.body]).toEqual([200, '{"ok":true}']);
    expect((await once(get('/v1/verify/%2e%2e/%2e%2e/healthz'))).body).toBe('{"ok":true}');
  });

  it.each(TRICKS)(`on ${FORWARD_HOST}, %s without a token → 401 missing_token, never another route`, async (path) => {
    const answer = await once(get(path, FORWARD_HOST));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ active: false, error: 'invalid_token', reason: 'missing_token' });
    expect(answer.headers).toMatch(/\r\nwww-authenticate: Bearer(\r\n|$)/i);
  });

  it.each(TRICKS)(`on ${FORWARD_HOST}, %s with a valid token → 200 active (a check, whatever the path)`, async (path) => {
    const answer = await once(get(path, FORWARD_HOST, `Authorization: Bearer ${token}\r\n`));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ active: true, sub: 'conn-alice' });
    expect(answer.headers).toMatch(/\r\nx-auth-subject: conn-alice\r\n/i);
  });

  it(`on ${FORWARD_HOST}, any method and path, the Host's case or port notwithstanding`, async () => {
    for (const [method, path, host] of [
      ['POST', '/v1/admin/revoke-all', FORWARD_HOST],
      ['DELETE', '/', 'AUTH.TEST'],
      ['GET', '/healthz', `${FORWARD_HOST}:${port}`],
    ] as const) {
      const answer = await once(
        `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${DEMO_ADMIN_KEY}\r\nContent-Length: 0\r\n\r\n`,
      );
      expect([method, path, answer.status, JSON.parse(answer.body).reason]).toEqual([method, path, 401, 'malformed']);
    }
  });
});

describe('unread request bodies do not stall the keep-alive connection (item 18)', () => {
  const KIB = 1024;
  const chunked = (kib: number) => `${Array.from({ length: kib }, () => `400\r\n${'a'.repeat(KIB)}\r\n`).join('')}0\r\n\r\n`;
  const post = (path: string, headers: string, body: string, length: 'chunked' | number) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Content-Type: application/json\r\n` +
    `${length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}\r\n\r\n${body}`;
  const admin = `Authorization: Bearer ${DEMO_ADMIN_KEY}\r\n`;
  const json20k = JSON.stringify({ reason: 'x', pad: 'a'.repeat(20 * KIB) });

  const CASES: [label: string, request: () => string, status: number][] = [
    ['a chunked 20 KiB body to an admin route → 413', () => post('/v1/admin/users/conn-x/revoke', admin, chunked(20), 'chunked'), 413],
    [
      'a 20 KiB body with Content-Length → 413',
      () => post('/v1/admin/users/conn-x/revoke', admin, json20k, Buffer.byteLength(json20k)),
      413,
    ],
    [
      'a chunked 20 KiB body with a wrong admin key → 401 before the body',
      () => post('/v1/admin/revoke-all', 'Authorization: Bearer wrong-key\r\n', chunked(20), 'chunked'),
      401,
    ],
    ['a chunked 100 KiB body with no admin key → 401', () => post('/v1/introspect', '', chunked(100), 'chunked'), 401],
    ['a body to /v1/logout with no token → 401 before the body', () => post('/v1/logout', '', chunked(20), 'chunked'), 401],
    ['a body to /v1/verify (Envoy may send one) → 401', () => post('/v1/verify/upload', '', chunked(20), 'chunked'), 401],
    ['a body to an unknown route → 404', () => post('/v1/nowhere', admin, chunked(20), 'chunked'), 404],
  ];

  it.each(CASES)('%s; the next request on the connection is answered at once', async (_label, request, status) => {
    const connection = await Connection.open();
    try {
      const first = await connection.exchange(request());
      expect(first.status).toBe(status);
      const next = await connection.exchange(get('/healthz'), 5_000);
      expect([next.status, next.body]).toEqual([200, '{"ok":true}']);
      expect(next.ms).toBeLessThan(2_000); // it took 30 s and more before
      // and the connection stays usable for real work
      const third = await connection.exchange(get('/v1/verify', '127.0.0.1', `Authorization: Bearer ${token}\r\n`));
      expect(third.status).toBe(200);
    } finally {
      connection.close();
    }
  });
});
