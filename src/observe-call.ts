import { ConfigError, getConfig, type Config } from './config/config';
import { logRequest, type LogFields } from './log/logger';
import { RefusalLog } from './log/refusal-log';
import { observe } from './metrics/metrics';
import { UNAUTHENTICATED_REASONS } from './verify/reasons';

/**
 * What the three entry points share (the HTTP app, the RPC entrypoint, the Hono middleware):
 * the configuration, and one log line plus one metrics observation per call, with the same
 * fields (docs/reference.md §5). The middleware only takes the configuration: the host app owns its logs.
 */

type EntryBindings = Parameters<typeof getConfig>[0] & Parameters<typeof observe>[0];

/**
 * The configuration (parsed once per isolate), or the ConfigError that says what is wrong:
 * each entry point answers it with its own misconfigured/unavailable answer and logs the
 * message once; never an accepted token. Any other error is not a configuration mistake.
 */
export function configOrError(env: EntryBindings): Config | ConfigError {
  try {
    return getConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

export interface CallEnd {
  /** The route pattern (`/v1/admin/users/:sub`), never the URL; `rpc:verify` for the service binding. */
  readonly route: string;
  readonly method?: string;
  /** What the HTTP route answers (the RPC entrypoint says what it would have answered). */
  readonly status: number;
  /** The log line's own fields: safe ones only (see log/logger.ts). */
  readonly fields: LogFields & { readonly reason?: string };
  readonly accepted: boolean;
  /** The response's error code, counted when no reason was logged. */
  readonly errorCode?: string;
  /** Undefined before the configuration was read (or when it could not be). */
  readonly config: Config | undefined;
}

/** One ration of unauthenticated refusal lines per configuration: per isolate in production. */
const refusalLogs = new WeakMap<Config, RefusalLog>();

function refusalLogOf(config: Config): RefusalLog {
  let log = refusalLogs.get(config);
  if (log === undefined) refusalLogs.set(config, (log = new RefusalLog()));
  return log;
}

/**
 * Times a call from now; the returned function writes its metrics (every call) and its one
 * log line: an accepted one for a LOG_ACCEPTED sample, an unauthenticated refusal within the
 * isolate's ration (src/log/refusal-log.ts), every other one.
 */
export function observeCall(env: EntryBindings): (end: CallEnd) => void {
  const started = Date.now();
  return ({ route, method, status, fields, accepted, errorCode, config }) => {
    const now = Date.now();
    const durationMs = now - started;
    observe(env, { route, status, reason: fields.reason ?? errorCode, accepted, durationMs });
    if (config !== undefined) {
      const refusals = refusalLogOf(config);
      refusals.flush(now);
      const logged = accepted ? Math.random() < config.logAcceptedRate : !isUnauthenticated(fields.reason) || refusals.admit(fields.reason);
      if (!logged) return;
    }
    logRequest({ route, method, status, ...fields, durationMs });
  };
}

const isUnauthenticated = (reason: string | undefined): reason is string => reason !== undefined && UNAUTHENTICATED_REASONS.has(reason);
