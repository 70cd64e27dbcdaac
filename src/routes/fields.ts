import { badRequest } from './body';

/** Free-text reasons are kept in the audit trail; bounded so it stays small. */
export const MAX_REASON_CHARS = 256;
/** Subjects and token ids longer than this cannot come from a token under 8 KiB anyway. */
export const MAX_ID_CHARS = 1024;

export function requiredId(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '' || value.length > MAX_ID_CHARS) {
    throw badRequest(`"${name}" must be a non-empty string of at most ${MAX_ID_CHARS} characters`);
  }
  return value;
}

export function optionalId(body: Record<string, unknown>, name: string): string | undefined {
  return body[name] === undefined ? undefined : requiredId(body, name);
}

export function requiredNumericDate(body: Record<string, unknown>, name: string): number {
  const value = body[name];
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw badRequest(`"${name}" must be a NumericDate (integer seconds since the epoch)`);
  }
  return value as number;
}

export function optionalReason(body: Record<string, unknown>, required = false): string | undefined {
  const value = body.reason;
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_REASON_CHARS) {
    throw badRequest(`"reason" must be a non-empty string of at most ${MAX_REASON_CHARS} characters`);
  }
  return value;
}

/** A positive integer query parameter within [1, max], or the default when absent. */
export function limitParam(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const limit = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= max)) throw badRequest(`"limit" must be an integer from 1 to ${max}`);
  return limit;
}

export function cursorParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw badRequest('"cursor" is not a cursor this server gave out');
  return value;
}
