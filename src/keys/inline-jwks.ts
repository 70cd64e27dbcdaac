import type { AsymmetricAlgorithm } from './algorithms';
import type { JwkSet } from './jwk-set';
import type { KeyLookup, KeySource, KeyStatus } from './key-source';

/** Keys given inline in TRUSTED_ISSUERS (`jwks`). */
export class InlineJwks implements KeySource {
  constructor(private readonly set: JwkSet) {}

  async current(): Promise<object> {
    return this.set;
  }

  status(): KeyStatus {
    return { source: 'jwks', ...this.set.summary() };
  }

  async lookup(alg: AsymmetricAlgorithm, kid: string | undefined): Promise<KeyLookup> {
    return (await this.set.lookup(alg, kid)) ?? { error: 'unknown_key' };
  }
}
