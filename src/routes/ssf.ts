import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { base64url } from 'jose';
import { STREAM_ID, type SsfStreamConfig } from '../config/ssf-streams';
import { matchingDigest, sha256 } from '../http/bearer-secret';
import { atWriter } from '../revocation/revoker';
import { shortName } from '../ssf/events';
import { receiveSet, SetError, SetKeysUnavailable } from '../ssf/receive';
import { findStream } from '../ssf/streams';
import type { AppEnv } from './app-env';
import { bearerToken } from '../http/bearer';
import { readBody } from '../http/body';
import { errorResponse, jsonResponse, NO_STORE, unavailableResponse } from '../http/responses';

/** docs/reference.md §7: the Shared Signals receiver (RFC 8935 push). Mounted at /v1/ssf. */
export const ssfRoutes = new Hono<AppEnv>();

/** SHA-256 of each stream's push secret: computed once per stream object, or stored as such. */
const pushDigests = new WeakMap<SsfStreamConfig, Promise<ArrayBuffer>>();

function pushDigest(stream: SsfStreamConfig, push: NonNullable<SsfStreamConfig['push']>): Promise<ArrayBuffer> {
  let digest = pushDigests.get(stream);
  if (digest === undefined) {
    // A copy: timingSafeEqual compares whole buffers, and a decoded view may sit in a larger one.
    digest = 'secretDigest' in push ? Promise.resolve(new Uint8Array(base64url.decode(push.secretDigest)).buffer) : sha256(push.secret);
    pushDigests.set(stream, digest);
  }
  return digest;
}

/** RFC 8935 §2.3: `{"err","description"}`; the code also feeds metrics, as `error` does elsewhere. */
export function setErrorResponse(status: number, err: string, description: string, headers: Record<string, string> = {}): Response {
  return jsonResponse({ err, description }, status, headers);
}

/** The same answer for a missing and a wrong push secret. */
const unauthorized = () =>
  setErrorResponse(401, 'authentication_failed', 'missing or wrong push authorization', {
    'WWW-Authenticate': 'Bearer realm="killswitch-ssf"',
  });

const SET_MEDIA_TYPES = new Set(['application/secevent+jwt', 'application/jwt']);

/**
 * POST /v1/ssf/{id}/events. Cheap checks first: the stream (404) and its push secret (401)
 * cost no body read and no crypto; then the media type and size (413), then the SET itself.
 * 202 only once what the SET revokes is durable.
 */
ssfRoutes.post('/:id/events', async (c) => {
  const id = c.req.param('id');
  const stream = STREAM_ID.test(id) ? await atWriter(() => findStream(c.var.config, c.env, id)) : undefined;
  if (stream === undefined) return errorResponse(404, 'not_found');
  c.var.log.stream = id;
  if (stream.push !== undefined) {
    const presented = bearerToken(c.req.header('Authorization')) ?? '';
    if ((await matchingDigest(presented, [await pushDigest(stream, stream.push)])) === undefined) return unauthorized();
  }
  const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!SET_MEDIA_TYPES.has(mediaType)) {
    return setErrorResponse(400, 'invalid_request', 'Content-Type must be application/secevent+jwt');
  }
  const body = (await readBody(c)).trim();
  try {
    const receipt = await receiveSet(body, stream, c.var.config, c.env);
    c.var.log.jti = receipt.jti;
    c.var.log.events = receipt.duplicate ? 'duplicate' : receipt.events.map((e) => `${shortName(e.type)}:${e.action}`).join(',');
    c.var.log.sub = receipt.events.flatMap((e) => e.subs)[0];
  } catch (error) {
    if (error instanceof SetError) {
      c.var.log.reason = error.code;
      return setErrorResponse(400, error.code, error.description);
    }
    if (error instanceof SetKeysUnavailable) {
      c.var.log.error = error.message;
      throw new HTTPException(503, { res: unavailableResponse() });
    }
    throw error;
  }
  return new Response(null, { status: 202, headers: NO_STORE });
});
