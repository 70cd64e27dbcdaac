import { WorkerEntrypoint } from 'cloudflare:workers';
import { ConfigError, getConfig, type Config } from '../config/config';
import { logRequest } from '../log/logger';
import { observe } from '../metrics/metrics';
import type { Claims } from '../verify/compact-jws';
import type { Reason } from '../verify/reasons';
import { identityOf, verifyToken, type VerifyResult } from '../verify/verifier';

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
    // `status` is what the HTTP route would have answered, so logs and metrics read the same.
    // Metrics count every call; an accepted one is logged only while LOG_ACCEPTED is on.
    const log = (status: number, fields: Record<string, string | undefined>) => {
      const durationMs = Date.now() - started;
      observe(this.env, { route: 'rpc:verify', status, reason: fields.reason, accepted: status === 200, durationMs });
      if (status !== 200 || config?.logAccepted !== false) logRequest({ route: 'rpc:verify', status, ...fields, durationMs });
    };
    let config: Config | undefined;
    try {
      config = getConfig(this.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      log(500, { reason: 'unavailable', error: error.message });
      return { active: false, reason: 'unavailable' };
    }
    // No token at all is missing_token; anything else that is not a string is not a JWS.
    const result: VerifyResult = token != null && typeof token !== 'string'
      ? { active: false, reason: 'malformed' }
      : await verifyToken(token ?? undefined, config, this.env, {
        strict: options?.strict === true ? true : undefined,
        waitUntil: (promise) => this.ctx.waitUntil(promise),
      });
    if (!result.active) {
      log(result.reason === 'unavailable' ? 503 : 401, { reason: result.reason, ...result.identity });
      return { active: false, reason: result.reason };
    }
    log(200, { ...identityOf(result.token) });
    return { active: true, claims: result.token.claims };
  }
}
