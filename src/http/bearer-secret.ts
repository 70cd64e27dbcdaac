const encoder = new TextEncoder();

export const sha256 = (text: string): Promise<ArrayBuffer> => crypto.subtle.digest('SHA-256', encoder.encode(text));

/**
 * The digest among `digests` that SHA-256(`presented`) equals, or undefined. Digests compare
 * with timingSafeEqual, against every candidate without stopping early; an empty value
 * matches nothing. Used for admin keys and for Shared Signals push secrets.
 */
export async function matchingDigest(presented: string, digests: readonly ArrayBuffer[]): Promise<ArrayBuffer | undefined> {
  const candidate = await sha256(presented);
  let match: ArrayBuffer | undefined;
  for (const digest of digests) {
    if (crypto.subtle.timingSafeEqual(candidate, digest) && presented !== '') match = digest;
  }
  return match;
}
