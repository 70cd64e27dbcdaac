import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { errorResponse } from './responses';

/** SPEC §4.2: request bodies over 16 KiB are refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024;

export function badRequest(description: string, error = 'invalid_request'): HTTPException {
  return new HTTPException(400, { res: errorResponse(400, error, description) });
}

/** The body as text, read no further than MAX_BODY_BYTES (a lying Content-Length changes nothing). */
export async function readBody(c: Context): Promise<string> {
  const tooLarge = () => new HTTPException(413, { res: errorResponse(413, 'payload_too_large', `body over ${MAX_BODY_BYTES} bytes`) });
  const declared = Number(c.req.header('Content-Length'));
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const body = c.req.raw.body;
  if (body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw badRequest('body is not UTF-8');
  }
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
