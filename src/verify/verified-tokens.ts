import type { AuthenticToken } from './token';

interface Entry {
  readonly token: AuthenticToken;
  /** The issuer's key material the signature was checked under (KeySource.current()). */
  readonly keys: object | undefined;
}

/**
 * Tokens whose signature verified, keyed by the whole token string, so a client that reuses
 * its token skips parsing and crypto. Only the signature is remembered: time-based claims
 * and revocation are checked on every call, and an entry counts only while the issuer's keys
 * are the ones it was verified under (a rotated-out key is not trusted from memory).
 * Bounded: the oldest entries go first. Refusals are never cached.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  async get(token: string): Promise<AuthenticToken | undefined> {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if ((await entry.token.issuer.keys.current()) === entry.keys) return entry.token;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, verified: AuthenticToken, keys: object | undefined): void {
    if (this.maxEntries === 0) return;
    if (this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(token, { token: verified, keys });
  }
}
