import type { AsymmetricAlgorithm } from './algorithms';
import { JwkSet } from './jwk-set';
import type { KeyLookup, KeySource, KeyStatus } from './key-source';
import { readCappedText } from '../streams/read-capped';
import { logEvent } from '../log/logger';
import { nowSeconds } from '../clock';

/** How long fetched keys are trusted: the JWKS's Cache-Control max-age, clamped to this. */
export const JWKS_MIN_TTL_MS = 60_000;
export const JWKS_MAX_TTL_MS = 24 * 3_600_000;
export const JWKS_DEFAULT_TTL_MS = 600_000;
/** A `kid` we do not know refetches the JWKS at most this often (kid floods cost nothing). */
export const JWKS_KID_MISS_INTERVAL_MS = 30_000;
/** After a failed fetch, wait this long before the next one. */
export const JWKS_FAILURE_RETRY_MS = 10_000;
const JWKS_FETCH_TIMEOUT_MS = 5_000;
const JWKS_MAX_BYTES = 256 * 1024;

/** The TTL that a JWKS response's Cache-Control asks for, within our bounds. */
export function jwksTtlMs(cacheControl: string | null): number {
  if (cacheControl === null) return JWKS_DEFAULT_TTL_MS;
  if (/(?:^|,)\s*(?:no-store|no-cache)\b/i.test(cacheControl)) return JWKS_MIN_TTL_MS;
  const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
  if (maxAge === null) return JWKS_DEFAULT_TTL_MS;
  return Math.min(JWKS_MAX_TTL_MS, Math.max(JWKS_MIN_TTL_MS, Number(maxAge[1]) * 1000));
}

class JwksError extends Error {}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new JwksError('not JSON');
  }
}

/**
 * A remote JWKS (`jwksUri`), cached in the isolate. Keys are refreshed when their TTL runs
 * out and when a token names an unknown `kid` (at most once per 30 s); concurrent callers
 * share one fetch; a failed refresh keeps the keys we had. With no keys at all, lookups
 * answer `unavailable`: we fail closed.
 */
export class RemoteJwks implements KeySource {
  private set: JwkSet | undefined;
  private refreshAt = 0;
  private lastKidMissRefresh = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private fetchedAt: number | null = null;
  private lastError: string | null = null;

  constructor(readonly url: string) {}

  status(): KeyStatus {
    const shown = new URL(this.url);
    shown.username = shown.password = shown.search = shown.hash = '';
    return {
      source: 'jwksUri',
      jwksUri: shown.href,
      ...(this.set?.summary() ?? { keyCount: 0, kids: [] }),
      fetchedAt: this.fetchedAt,
      lastError: this.lastError,
    };
  }

  async current(): Promise<object | undefined> {
    if (Date.now() >= this.refreshAt) await this.refresh();
    return this.set;
  }

  async lookup(alg: AsymmetricAlgorithm, kid: string | undefined): Promise<KeyLookup> {
    if (Date.now() >= this.refreshAt) await this.refresh();
    if (this.set === undefined) return { error: 'unavailable' };
    const found = await this.set.lookup(alg, kid);
    if (found !== undefined) return found;
    if (kid === undefined || Date.now() - this.lastKidMissRefresh < JWKS_KID_MISS_INTERVAL_MS) {
      return { error: 'unknown_key' };
    }
    this.lastKidMissRefresh = Date.now();
    await this.refresh();
    return (await this.set.lookup(alg, kid)) ?? { error: 'unknown_key' };
  }

  /** One fetch at a time, shared by every caller that needs it. */
  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    try {
      const response = await fetch(this.url, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'manual', // a redirect is not ok: we fetch exactly the configured URL
        signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS),
      });
      if (!response.ok) throw new JwksError(`status ${response.status}`);
      const body = await readCappedText(response.body, response.headers.get('content-length'), JWKS_MAX_BYTES);
      if (!('text' in body)) throw new JwksError(body.error === 'too_large' ? 'JWKS too large' : 'not UTF-8');
      const keys = (parseJson(body.text) as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys)) throw new JwksError('no "keys" array');
      this.set = new JwkSet(keys);
      this.refreshAt = Date.now() + jwksTtlMs(response.headers.get('cache-control'));
      this.fetchedAt = nowSeconds();
      this.lastError = null;
    } catch (error) {
      // Keep the keys we have; try again later rather than on every request.
      // Our own messages only: a runtime error could quote what the server sent.
      this.lastError = error instanceof JwksError ? error.message : 'fetch failed';
      logEvent('jwks_fetch_failed', { url: this.url, error: this.lastError });
      this.refreshAt = Date.now() + JWKS_FAILURE_RETRY_MS;
    }
  }
}

/** One RemoteJwks per URL and isolate, so its cache outlives any one parsed configuration. */
const registry = new Map<string, RemoteJwks>();

export function remoteJwksFor(url: string): RemoteJwks {
  let jwks = registry.get(url);
  if (jwks === undefined) registry.set(url, (jwks = new RemoteJwks(url)));
  return jwks;
}
