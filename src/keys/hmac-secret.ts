import type { HmacAlgorithm } from './algorithms';
import type { KeyLookup, KeySource, KeyStatus } from './key-source';

/**
 * An issuer's shared HMAC secret (the UTF-8 bytes of a secret binding). There is one key,
 * so a token's `kid` does not select anything here.
 */
export class HmacSecret implements KeySource {
  private readonly imported = new Map<HmacAlgorithm, Promise<CryptoKey>>();

  constructor(private readonly secret: Uint8Array) {}

  async current(): Promise<object> {
    return this;
  }

  status(): KeyStatus {
    return { source: 'hmacSecret', keyCount: 1, kids: [] };
  }

  async lookup(alg: HmacAlgorithm): Promise<KeyLookup> {
    let pending = this.imported.get(alg);
    if (pending === undefined) {
      const hash = `SHA-${alg.slice(2)}`;
      pending = crypto.subtle.importKey('raw', this.secret, { name: 'HMAC', hash }, false, ['verify']);
      this.imported.set(alg, pending);
    }
    return { key: await pending };
  }
}
