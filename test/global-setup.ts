/**
 * A JWKS server on 127.0.0.1 for the remote-JWKS tests, run in Node by vitest. Each path is
 * its own JWKS, so test files do not share state. Control endpoints (POST JSON):
 *   /__control/keys?path=/jwks/x   {"keys":[...], "cacheControl"?: "max-age=60"}
 *   /__control/status?path=/jwks/x {"status":503}     (0 = drop the connection; a 3xx may
 *                                   carry "location")
 *   /__control/body?path=/jwks/x   {"body":"not json"} (served verbatim with status 200 instead
 *                                   of the keys, until the next /__control/keys)
 *   GET /__control/hits?path=/jwks/x → {"hits":n};  POST /__control/reset?path=/jwks/x
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { KEYS, REMOTE_JWKS_PATH } from './helpers/fixtures';

interface JwksState { keys: unknown[]; cacheControl: string; status: number; hits: number; rawBody?: string; location?: string }

export default async function setup(project: TestProject) {
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

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
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
    if (state.status !== 200) return reply(state.status, { error: 'down' }, state.location === undefined ? {} : { location: state.location });
    if (state.rawBody !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': state.cacheControl });
      return res.end(state.rawBody);
    }
    reply(200, { keys: state.keys }, { 'cache-control': state.cacheControl });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('jwksPort', (server.address() as AddressInfo).port);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
