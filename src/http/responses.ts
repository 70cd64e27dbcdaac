import type { Context } from 'hono';
import { RETRY_AFTER_SECONDS } from '../errors';
import type { Reason } from '../verify/reasons';

/** Every response of killswitch is about credentials: no cache may keep one. */
export const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** The `error` code of each JSON error answer, for metrics: reading it back costs no body parse. */
const errorCodes = new WeakMap<Response, string>();

/** The `error` code a response was built with (see jsonResponse), if any. */
export function errorCodeOf(response: Response | undefined): string | undefined {
  return response === undefined ? undefined : errorCodes.get(response);
}

/** Hono rebuilds an HTTPException's response: carry the code over. */
export function withErrorCodeOf(from: Response | undefined, to: Response): Response {
  const code = errorCodeOf(from);
  if (code !== undefined) errorCodes.set(to, code);
  return to;
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const response = new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...NO_STORE, ...headers },
  });
  if (status >= 400) {
    // RFC 8935 names its error code `err`.
    const code = (body as { error?: unknown; err?: unknown } | null)?.error ?? (body as { err?: unknown } | null)?.err;
    if (typeof code === 'string') errorCodes.set(response, code);
  }
  return response;
}

/** An error in OAuth's shape (RFC 6749 §5.2): a code and, optionally, what to fix. */
export function errorResponse(status: number, error: string, description?: string): Response {
  return jsonResponse(description === undefined ? { error } : { error, error_description: description }, status);
}

/**
 * A writer or the state could not be reached: nothing was acknowledged, and repeating the
 * request is safe (every killswitch write is idempotent or only revokes more).
 */
export function unavailableResponse(description?: string, retryAfterSeconds = RETRY_AFTER_SECONDS): Response {
  const body =
    description === undefined ? { error: 'temporarily_unavailable' } : { error: 'temporarily_unavailable', error_description: description };
  return jsonResponse(body, 503, { 'Retry-After': String(retryAfterSeconds) });
}

/**
 * A refused bearer token (docs/reference.md §3.1, RFC 6750 §3): 401 with the reason code, or 503 when
 * revocation state could not be read. The description is the reason code, never the token.
 */
export function refusalResponse(reason: Reason): Response {
  if (reason === 'unavailable') {
    return jsonResponse({ active: false, error: 'temporarily_unavailable', reason }, 503, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
  }
  const challenge = reason === 'missing_token' ? 'Bearer' : `Bearer error="invalid_token", error_description="${reason}"`;
  return jsonResponse({ active: false, error: 'invalid_token', reason }, 401, { 'WWW-Authenticate': challenge });
}

/** The request's waitUntil, where the runtime gives one (Hono throws when there is no ExecutionContext). */
export function waitUntilOf(c: Context): ((promise: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return undefined;
  }
}
