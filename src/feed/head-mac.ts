/**
 * A location's cached feed head is authenticated (issue 18): `caches.default` is shared by every
 * Worker on the zone, so any of them could `put` a head that says "fresh, nothing revoked". Each
 * entry carries an HMAC-SHA-256 of its key and body, keyed by FEED_MAC_KEY; an entry without a
 * valid one is rejected (the mirror counts it and reads the feed instead). Runtime-free (WebCrypto).
 */

/** The header a cached head's MAC travels in (base64url). */
export const FEED_MAC_HEADER = 'Killswitch-Feed-Mac';

/** A cached head that did not carry a valid MAC: never trusted. */
export class ForgedHeadError extends Error {
  readonly code = 'feed_head_forged';
}

/** The part of the Cache API a mirror uses. */
export interface HeadCache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for a FEED_MAC_KEY secret, imported once per isolate. */
export function feedMacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

// The key is bound in: an entry copied to another key (another bucket) does not verify.
const signed = (url: string, body: string) => encoder.encode(`${url}\n${body}`);

function toBase64url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return undefined; // 32 bytes
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}

/** `cache`, signing what is put and verifying what is matched (ForgedHeadError when it does not verify). */
export function authenticatedCache(cache: HeadCache, key: CryptoKey): HeadCache {
  return {
    async match(url) {
      const hit = await cache.match(url);
      if (hit === undefined) return undefined;
      const body = await hit.text();
      const mac = fromBase64url(hit.headers.get(FEED_MAC_HEADER) ?? '');
      if (mac === undefined || !(await crypto.subtle.verify('HMAC', key, mac, signed(url, body)))) throw new ForgedHeadError(url);
      return new Response(body, { headers: { 'Content-Type': 'application/json' } });
    },
    async put(url, response) {
      const body = await response.text();
      const mac = toBase64url(await crypto.subtle.sign('HMAC', key, signed(url, body)));
      const headers = new Headers(response.headers);
      headers.set(FEED_MAC_HEADER, mac);
      await cache.put(url, new Response(body, { headers }));
    },
  };
}
