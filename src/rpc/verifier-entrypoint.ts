import { WorkerEntrypoint } from 'cloudflare:workers';
import { ConfigError, getConfig } from '../config/config';
import { logRequest } from '../log/logger';
import type { Claims } from '../verify/compact-jws';
import type { Reason } from '../verify/reasons';
import { verifyToken } from '../verify/verifier';

export type RpcVerifyResult =
  | { active: true; claims: Claims }
  | { active: false; reason: Reason };

/**
 * SPEC §3.2: verification over a service binding, with no HTTP in between.
 *   services = [{ binding = "AUTH", service = "killswitch", entrypoint = "Verifier" }]
 *   const result = await env.AUTH.verify(token)
 * A misconfigured worker answers `unavailable` (and logs why); it never accepts.
 */
export class Verifier extends WorkerEntrypoint<Env> {
  async verify(token: unknown, options?: { strict?: boolean }): Promise<RpcVerifyResult> {
    const started = Date.now();
    // `status` is what the HTTP route would have answered, so logs read the same.
    const log = (status: number, fields: Record<string, string | undefined>) =>
      logRequest({ route: 'rpc:verify', status, ...fields, durationMs: Date.now() - started });
    let config;
    try {
      config = getConfig(this.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      log(500, { reason: 'unavailable', error: error.message });
      return { active: false, reason: 'unavailable' };
    }
    // No token at all is missing_token; anything else that is not a string is not a JWS.
    const result = token != null && typeof token !== 'string'
      ? { active: false as const, reason: 'malformed' as const }
      : await verifyToken(token ?? undefined, config, this.env, { strict: options?.strict === true ? true : undefined });
    if (!result.active) {
      log(result.reason === 'unavailable' ? 503 : 401, { reason: result.reason });
      return { active: false, reason: result.reason };
    }
    const { claims } = result.token;
    if (config.logAccepted) log(200, { sub: claims.sub, jti: claims.jti });
    return { active: true, claims };
  }
}
