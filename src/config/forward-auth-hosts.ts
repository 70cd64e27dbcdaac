import { ConfigError, jsonVar, type RawEnv } from './vars';

/** A host name as the URL parser gives it: lower case, no port, no scheme. */
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * FORWARD_AUTH_HOSTS (docs/reference.md §2, §3.1): host names on which every request, whatever its path and
 * method, is a /v1/verify check. A gateway that appends the client's path (Envoy ext_authz)
 * then cannot reach another route through `..` segments, which the runtime resolves before
 * the worker sees the URL. Names compare case-insensitively, without the port.
 */
export function parseForwardAuthHosts(env: RawEnv): ReadonlySet<string> {
  const field = 'FORWARD_AUTH_HOSTS';
  const raw = env[field] === undefined || env[field] === '' ? [] : jsonVar(env, field);
  if (!Array.isArray(raw)) throw new ConfigError(field, 'must be a JSON array of host names');
  return new Set(
    raw.map((host: unknown, i) => {
      const name = typeof host === 'string' ? host.trim().toLowerCase() : '';
      if (!HOST_NAME.test(name)) throw new ConfigError(`${field}[${i}]`, 'must be a host name (no scheme, port or path)');
      return name;
    }),
  );
}

/** Parsed once per `env` object; undefined when the value is invalid (getConfig reports it). */
const hostsByEnv = new WeakMap<object, ReadonlySet<string> | undefined>();

/**
 * Whether this request is a forward-auth check by its host alone. Decided before routing, so
 * it must not throw: an invalid FORWARD_AUTH_HOSTS routes everything to /v1/verify, where the
 * configuration error answers 500 (fail closed) rather than serving another route.
 */
export function isForwardAuthHost(request: Request, env: object | undefined): boolean {
  const raw = (env as RawEnv | undefined)?.FORWARD_AUTH_HOSTS;
  if (raw === undefined || raw === '' || raw === '[]') return false;
  let hosts = hostsByEnv.get(env!);
  if (!hostsByEnv.has(env!)) {
    try {
      hosts = parseForwardAuthHosts(env as RawEnv);
    } catch {
      hosts = undefined;
    }
    hostsByEnv.set(env!, hosts);
  }
  return hosts === undefined || hosts.has(new URL(request.url).hostname);
}
