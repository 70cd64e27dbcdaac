import type { KeyStatus } from '../keys/key-source';
import type { Config, FailMode, RevocationMode } from './config';

/** KV's propagation bound on Cloudflare (docs/consistency.md). */
export const KV_PROPAGATION_SECONDS = 60;

export interface RevocationStatus {
  readonly mode: RevocationMode;
  readonly failMode: FailMode;
  /** REVOCATION_CACHE_TTL_SECONDS. */
  readonly cacheTtlSeconds: number;
  /** A revocation is refused by every check, everywhere, within this many seconds (0: the next request). */
  readonly boundSeconds: number;
}

export interface IssuerStatus {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  /** killswitch's own token service (docs/reference.md §6). */
  readonly own: boolean;
  /** The claim naming the user (docs/reference.md §2.2), and its user namespace when not the shared one. */
  readonly userClaim: string;
  readonly userNamespace?: string;
  readonly keys: KeyStatus;
}

export interface ConfigStatus {
  readonly revocation: RevocationStatus;
  readonly issuers: readonly IssuerStatus[];
}

/**
 * What the admin stats show of the configuration: the revocation promise in force and each
 * trusted issuer with its key status. Never a secret, a secret's name or an admin key.
 */
export function configStatus(config: Config): ConfigStatus {
  const cacheTtlSeconds = config.revocationCacheTtlSeconds;
  const boundSeconds =
    config.revocationMode === 'strict'
      ? 0
      : config.revocationMode === 'bounded'
        ? Math.ceil(config.revocationMaxStalenessMs / 1000)
        : KV_PROPAGATION_SECONDS + cacheTtlSeconds;
  const issuers = new Set(config.issuers.values());
  if (config.ownIssuer !== undefined) issuers.add(config.ownIssuer);
  return {
    revocation: { mode: config.revocationMode, failMode: config.failMode, cacheTtlSeconds, boundSeconds },
    issuers: [...issuers].map((issuer) => ({
      issuer: issuer.issuer,
      audiences: [...issuer.audiences],
      algorithms: [...issuer.algorithms],
      own: issuer === config.ownIssuer,
      userClaim: issuer.userClaim,
      ...(issuer.userNamespace === undefined ? {} : { userNamespace: issuer.userNamespace }),
      keys: issuer.keys.status(),
    })),
  };
}
