/**
 * A JWKS server on 127.0.0.1 for the remote-JWKS tests, run in Node by vitest. Each path is
 * its own JWKS, so test files do not share state. Control endpoints (POST JSON):
 *   /__control/keys?path=/jwks/x   {"keys":[...], "cacheControl"?: "max-age=60"}
 *   /__control/status?path=/jwks/x {"status":503}     (0 = drop the connection; a 3xx may
 *                                   carry "location")
 *   /__control/body?path=/jwks/x   {"body":"not json"} (served verbatim with status 200 instead
 *                                   of the keys, until the next /__control/keys)
 *   GET /__control/hits?path=/jwks/x → {"hits":n};  POST /__control/reset?path=/jwks/x
 *
 * It is also a Shared Signals transmitter's management API (SSF 1.0 §7–8), one per name, for
 * the admin routes of reference §7 (the tests sign the SETs themselves, with jose, in workerd):
 *   GET  /.well-known/ssf-configuration/ssf-tx/<name>   transmitter metadata; issuer
 *        http://127.0.0.1:<port>/ssf-tx/<name>, keys at /jwks/ssf-tx-<name>
 *   POST|GET|DELETE /ssf-tx/<name>/streams, POST /ssf-tx/<name>/verify, GET /ssf-tx/<name>/status
 *        (Authorization: Bearer tx-token, else 401)
 *   GET  /__control/ssf-tx?name=<name> → {"streams":[...], "verifications":[...]}
 *   POST /__control/ssf-tx?name=<name> {"issuer"?: "...", "status"?: 500} to misbehave
 *
 * And an RFC 8936 poll endpoint per name, for poll delivery:
 *   POST /ssf-tx/<name>/poll (Authorization: Bearer poll-token) {maxEvents, returnImmediately, ack?, setErrs?}
 *        → {"sets": {jti: SET}, "moreAvailable"}: acked and refused SETs leave the queue, the others
 *        are delivered again
 *   POST /__control/ssf-tx?name=<name> {"queue": {jti: SET}} adds SETs; GET returns "queue" (left)
 *        and "polls" (every request body received)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { KEYS, REMOTE_JWKS_PATH, SSF_JWKS_PATHS } from './helpers/fixtures';

interface JwksState {
  keys: unknown[];
  cacheControl: string;
  status: number;
  hits: number;
  rawBody?: string;
  location?: string;
}

/** What the test transmitter remembers, per name. */
interface Transmitter {
  streams: Map<string, Record<string, unknown>>;
  verifications: unknown[];
  issuer?: string;
  status?: number;
  queue: Record<string, unknown>;
  polls: unknown[];
}

export const TRANSMITTER_TOKEN = 'tx-token';
export const POLL_TOKEN = 'poll-token';

export default async function setup(project: TestProject) {
  const transmitters = new Map<string, Transmitter>();
  const transmitterOf = (name: string) => {
    let t = transmitters.get(name);
    if (t === undefined) transmitters.set(name, (t = { streams: new Map(), verifications: [], queue: {}, polls: [] }));
    return t;
  };
  const states = new Map<string, JwksState>();
  const stateOf = (path: string) => {
    let state = states.get(path);
    if (state === undefined) {
      state = { keys: [], cacheControl: 'max-age=300', status: 200, hits: 0 };
      states.set(path, state);
    }
    return state;
  };
  stateOf(REMOTE_JWKS_PATH).keys = [KEYS['remote-a'].public];
  for (const path of Object.values(SSF_JWKS_PATHS)) stateOf(path).keys = [KEYS['rs256-1'].public];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === null ? undefined : JSON.stringify(body));
    };
    if (
      url.pathname.startsWith('/.well-known/ssf-configuration/ssf-tx/') ||
      url.pathname.startsWith('/ssf-tx/') ||
      url.pathname === '/__control/ssf-tx'
    ) {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => serveTransmitter(url, req, body, reply));
      return;
    }
    if (url.pathname.startsWith('/__control/')) {
      const state = stateOf(url.searchParams.get('path') ?? REMOTE_JWKS_PATH);
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const input = body === '' ? {} : JSON.parse(body);
        switch (url.pathname) {
          case '/__control/keys':
            state.keys = input.keys;
            state.rawBody = undefined;
            if (input.cacheControl !== undefined) state.cacheControl = input.cacheControl;
            return reply(200, { ok: true });
          case '/__control/status':
            state.status = input.status;
            state.location = input.location;
            return reply(200, { ok: true });
          case '/__control/body':
            state.rawBody = String(input.body);
            return reply(200, { ok: true });
          case '/__control/hits':
            return reply(200, { hits: state.hits });
          case '/__control/reset':
            state.hits = 0;
            return reply(200, { ok: true });
          default:
            return reply(404, { error: 'unknown control' });
        }
      });
      return;
    }
    const state = stateOf(url.pathname);
    state.hits++;
    if (state.status === 0) return req.socket.destroy();
    if (state.status !== 200)
      return reply(state.status, { error: 'down' }, state.location === undefined ? {} : { location: state.location });
    if (state.rawBody !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': state.cacheControl });
      return res.end(state.rawBody);
    }
    reply(200, { keys: state.keys }, { 'cache-control': state.cacheControl });
  });
  /** The transmitter side of SSF 1.0 §7–8, just enough for killswitch's admin routes. */
  function serveTransmitter(url: URL, req: http.IncomingMessage, body: string, reply: (s: number, b: unknown) => void) {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (url.pathname === '/__control/ssf-tx') {
      const t = transmitterOf(url.searchParams.get('name') ?? '');
      if (req.method === 'POST') {
        const { queue, ...rest } = JSON.parse(body || '{}');
        Object.assign(t, rest);
        Object.assign(t.queue, queue ?? {});
        return reply(200, { ok: true });
      }
      return reply(200, { streams: [...t.streams.values()], verifications: t.verifications, queue: t.queue, polls: t.polls });
    }
    const wellKnown = url.pathname.startsWith('/.well-known/');
    const name = (wellKnown ? url.pathname.slice('/.well-known/ssf-configuration/ssf-tx/'.length) : url.pathname.split('/')[2]) ?? '';
    const t = transmitterOf(name);
    const base = `${origin}/ssf-tx/${name}`;
    if (t.status) return reply(t.status, { error: 'down' }); // null or 0 (JSON has no undefined): up
    if (url.pathname.split('/')[3] === 'poll') {
      if (req.headers.authorization !== `Bearer ${POLL_TOKEN}`) return reply(401, { error: 'unauthorized' });
      const input = JSON.parse(body || '{}');
      t.polls.push(input);
      for (const jti of [...(input.ack ?? []), ...Object.keys(input.setErrs ?? {})]) delete t.queue[jti];
      const waiting = Object.entries(t.queue);
      const max = input.maxEvents ?? waiting.length;
      return reply(200, { sets: Object.fromEntries(waiting.slice(0, max)), moreAvailable: waiting.length > max });
    }
    if (wellKnown) {
      return reply(200, {
        spec_version: '1_0',
        issuer: t.issuer ?? base,
        jwks_uri: `${origin}/jwks/ssf-tx-${name}`,
        delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'],
        configuration_endpoint: `${base}/streams`,
        status_endpoint: `${base}/status`,
        verification_endpoint: `${base}/verify`,
        authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
      });
    }
    if (req.headers.authorization !== `Bearer ${TRANSMITTER_TOKEN}`) return reply(401, { error: 'unauthorized' });
    const action = url.pathname.split('/')[3];
    const input = body === '' ? {} : JSON.parse(body);
    const streamId = url.searchParams.get('stream_id') ?? input.stream_id;
    if (action === 'streams' && req.method === 'POST') {
      const id = `tx-${t.streams.size + 1}-${Math.random().toString(36).slice(2, 8)}`;
      const stream = {
        stream_id: id,
        iss: t.issuer ?? base,
        aud: `${base}/receivers/${id}`,
        delivery: input.delivery,
        events_requested: input.events_requested,
        events_delivered: input.events_requested ?? [],
        description: input.description,
      };
      t.streams.set(id, stream);
      return reply(201, stream);
    }
    const stream = t.streams.get(streamId);
    if (stream === undefined) return reply(404, { error: 'no such stream' });
    if (action === 'streams' && req.method === 'DELETE') {
      t.streams.delete(streamId);
      return reply(204, null);
    }
    if (action === 'streams') return reply(200, stream);
    if (action === 'verify') {
      t.verifications.push(input);
      return reply(204, null);
    }
    if (action === 'status') return reply(200, { stream_id: streamId, status: 'enabled' });
    return reply(404, { error: 'unknown' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('jwksPort', (server.address() as AddressInfo).port);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
