/**
 * Drives the loopback JWKS server of test/global-setup.ts from inside workerd. Every test
 * takes its own path (`freshJwksPath`), so the module-scope JWKS cache of one test never
 * serves another.
 */
import { inject } from 'vitest';
import { ISSUERS } from './fixtures';

export const jwksBase = () => `http://127.0.0.1:${inject('jwksPort')}`;

export const freshJwksPath = (name: string) => `/jwks/${name}-${crypto.randomUUID()}`;

async function control(action: string, path: string, body: unknown = {}): Promise<unknown> {
  const res = await fetch(`${jwksBase()}/__control/${action}?path=${encodeURIComponent(path)}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`JWKS control ${action} answered ${res.status}`);
  return res.json();
}

export const publishKeys = (path: string, keys: unknown[], cacheControl?: string) =>
  control('keys', path, cacheControl === undefined ? { keys } : { keys, cacheControl });

/** 200 = serve the keys; any other status is served as an error (with `location`, for a redirect); 0 drops the connection. */
export const setJwksStatus = (path: string, status: number, location?: string) => control('status', path, { status, location });

/** Serve this text verbatim (status 200) instead of the keys. */
export const serveRawBody = (path: string, body: string) => control('body', path, { body });

export async function jwksHits(path: string): Promise<number> {
  const res = await fetch(`${jwksBase()}/__control/hits?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as { hits: number }).hits;
}

/** TRUSTED_ISSUERS with only the remote issuer, its keys at `path` on the JWKS server. */
export function remoteIssuers(path: string): string {
  return JSON.stringify([{ issuer: ISSUERS.remote, audiences: ['api'], algorithms: ['ES256'], jwksUri: `${jwksBase()}${path}` }]);
}
