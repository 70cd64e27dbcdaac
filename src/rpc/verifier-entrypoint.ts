import { WorkerEntrypoint } from 'cloudflare:workers';
import { ConfigError } from '../config/config';
import { configOrError, observeCall } from '../observe-call';
import type { Claims } from '../verify/compact-jws';
import type { Reason } from '../verify/reasons';
import { identityOf, type VerifyResult } from '../verify/token';
import { verifyToken } from '../verify-token';

/** `user`: the user id revocations name (the issuer's `userClaim`, `sub` by default). */
export type RpcVerifyResult = { active: true; claims: Claims; user: string } | { active: false; reason: Reason };

/**
 * docs/reference.md §3.2: verification over a service binding, with no HTTP in between.
 *   services = [{ binding = "AUTH", service = "killswitch", entrypoint = "Verifier" }]
 *   const result = await env.AUTH.verify(token)
 * A misconfigured worker answers `unavailable` (and logs why); it never accepts.
 */
export class Verifier extends WorkerEntrypoint<Env> {
  async verify(token: unknown, options?: { strict?: boolean }): Promise<RpcVerifyResult> {
    const end = observeCall(this.env);
    const config = configOrError(this.env);
    // `status` is what the HTTP route would have answered, so logs and metrics read the same.
    const log = (status: number, fields: Record<string, string | undefined>) =>
      end({
        route: 'rpc:verify',
        status,
        fields,
        accepted: status === 200,
        config: config instanceof ConfigError ? undefined : config,
      });
    if (config instanceof ConfigError) {
      log(500, { reason: 'unavailable', error: config.message });
      return { active: false, reason: 'unavailable' };
    }
    // No token at all is missing_token; anything else that is not a string is not a JWS.
    const result: VerifyResult =
      token != null && typeof token !== 'string'
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
    return { active: true, claims: result.token.claims, user: result.token.userId };
  }
}
