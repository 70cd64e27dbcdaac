/**
 * The mirror keys are hashed in JS (src/revocation/sha256.ts); the feed, KV keys and every mirror
 * already deployed hold fingerprints made by crypto.subtle.digest, so the bytes must be the same.
 */
import { describe, expect, it } from 'vitest';
import { sha256Words } from '../src/revocation/sha256';
import { fingerprintOf, tokenFingerprintWords, tokenKvKey, userFingerprintWords, userKvKey } from '../src/revocation/storage-keys';

async function subtleWords(bytes: Uint8Array): Promise<[number, number]> {
  const view = new DataView(await crypto.subtle.digest('SHA-256', bytes));
  return [view.getUint32(0), view.getUint32(4)];
}

const hex = ([hi, lo]: readonly [number, number]) => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');

/** A random string mixing ASCII, 2-, 3- and 4-byte UTF-8 characters. */
function randomText(length: number): string {
  const alphabets = ['abcXYZ019-_.:@"\\', 'éßøДж', '€中文日本', '😀🔑𝄞'];
  let text = '';
  for (let i = 0; i < length; i++) {
    const chars = [...alphabets[Math.floor(Math.random() * alphabets.length)]!];
    text += chars[Math.floor(Math.random() * chars.length)];
  }
  return text;
}

describe('sha256Words', () => {
  it('equals crypto.subtle.digest on every length around the block boundaries', async () => {
    for (let length = 0; length <= 200; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(sha256Words(bytes), `length ${length}`).toEqual(await subtleWords(bytes));
    }
    const long = crypto.getRandomValues(new Uint8Array(5000));
    expect(sha256Words(long)).toEqual(await subtleWords(long));
  });

  it('equals the known vectors of FIPS 180-4', () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    expect(hex(sha256Words(encode('')))).toBe('e3b0c44298fc1c14');
    expect(hex(sha256Words(encode('abc')))).toBe('ba7816bf8f01cfea');
    expect(hex(sha256Words(encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe('248d6a61d20638b8');
  });

  it('gives the fingerprints of the KV keys for random, non-ASCII user ids, issuers and token ids', async () => {
    for (let i = 0; i < 300; i++) {
      const sub = randomText(1 + (i % 90));
      const iss = i % 3 === 0 ? null : `https://${randomText(1 + (i % 20))}.example/`;
      const jti = randomText(1 + ((i * 7) % 60));
      const ns = i % 4 === 0 ? 'tenant-a' : undefined;
      expect(hex(userFingerprintWords(sub, ns))).toBe(fingerprintOf(await userKvKey(sub, ns)));
      expect(hex(tokenFingerprintWords(sub, iss, jti, ns))).toBe(fingerprintOf(await tokenKvKey(sub, iss, jti, ns)));
    }
  });
});
