import type { Config } from '../config/config';
import type { LogFields } from '../log/logger';

/** What a request may add to its one log line (safe fields only: see log/logger.ts). */
export interface RequestLog extends LogFields {
  reason?: string;
  sub?: string;
  jti?: string;
  /** The user id, only where it is not the `sub` (an issuer whose userClaim is another claim). */
  user?: string;
  /** docs/reference.md §7: the Shared Signals stream a SET came in on, and what its events did. */
  stream?: string;
  events?: string;
}

/** Hono's typed environment for every route of the app. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    log: RequestLog;
    /** Set by adminAuth (feedAuth): a fingerprint of the admin (feed) key used, for the audit trail. */
    actor: string;
  };
}
