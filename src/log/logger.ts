/**
 * The one place that writes logs: a JSON object per line. Callers pass only fields that are
 * safe to log (reason codes, `sub`, `jti`, routes); never a token, an Authorization header,
 * a refresh token or a key. Long values are cut so a huge claim cannot blow up a log line.
 */
const MAX_FIELD_CHARS = 200;

export type LogFields = Record<string, string | number | boolean | undefined>;

function bounded(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[name] = typeof value === 'string' && value.length > MAX_FIELD_CHARS ? `${value.slice(0, MAX_FIELD_CHARS)}…` : value;
  }
  return out;
}

/** One line per request (docs/reference.md §5). */
export function logRequest(fields: LogFields): void {
  console.log(JSON.stringify(bounded(fields)));
}

/** Operational events outside a request's outcome (a JWKS fetch failed, a KV write retried). */
export function logEvent(event: string, fields: LogFields = {}): void {
  console.log(JSON.stringify(bounded({ event, ...fields })));
}
