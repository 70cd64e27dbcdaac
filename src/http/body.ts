import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { readCappedText } from '../streams/read-capped';
import { errorResponse } from './responses';

/** docs/reference.md §4.2: request bodies over 16 KiB are refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024;

export function badRequest(description: string, error = 'invalid_request'): HTTPException {
  return new HTTPException(400, { res: errorResponse(400, error, description) });
}

/** The body as text, read no further than MAX_BODY_BYTES (a lying Content-Length changes nothing). */
export async function readBody(c: Context): Promise<string> {
  // Drained, not cancelled: a cancelled request body stalls the client's keep-alive connection.
  const body = await readCappedText(c.req.raw.body, c.req.header('Content-Length'), MAX_BODY_BYTES, 'drain');
  if ('text' in body) return body.text;
  if (body.error === 'not_utf8') throw badRequest('body is not UTF-8');
  throw new HTTPException(413, { res: errorResponse(413, 'payload_too_large', `body over ${MAX_BODY_BYTES} bytes`) });
}

/** An RFC 7009/7662/6749 form body. */
export async function readForm(c: Context): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(c));
}

/** A JSON object body; an empty body is `{}`. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await readBody(c);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
