import { HMAC_ALGORITHMS, isHmacAlgorithm, minHmacKeyBytes, type JwsAlgorithm } from '../keys/algorithms';
import { HmacSecret } from '../keys/hmac-secret';
import { InlineJwks } from '../keys/inline-jwks';
import { JwkSet, unusableJwkReason } from '../keys/jwk-set';
import type { KeySource } from '../keys/key-source';
import { remoteJwksFor } from '../keys/remote-jwks';
import { ConfigError, type RawEnv } from './vars';

/** Where keys come from, for a trusted issuer (TRUSTED_ISSUERS) or a transmitter (SSF_STREAMS). */

export function parseJwksUri(value: unknown, field: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ConfigError(field, 'is not a URL');
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new ConfigError(field, 'must be https: (http: only for localhost/127.0.0.1)');
  }
  return url.href;
}

export function parseKeySource(entry: Record<string, unknown>, algorithms: JwsAlgorithm[], env: RawEnv, field: string): KeySource {
  const sources = (['jwksUri', 'jwks', 'hmacSecret'] as const).filter((s) => entry[s] !== undefined);
  if (sources.length !== 1) {
    throw new ConfigError(field, 'needs exactly one of "jwksUri", "jwks" or "hmacSecret"');
  }
  const hmac = algorithms.filter(isHmacAlgorithm);
  if (sources[0] === 'hmacSecret') {
    // An HMAC secret only ever meets HS* algorithms, so no public key is used as a secret.
    if (hmac.length !== algorithms.length) {
      throw new ConfigError(`${field}.algorithms`, `an hmacSecret issuer allows only ${HMAC_ALGORITHMS.join(', ')}`);
    }
    const name = entry.hmacSecret;
    const secret = typeof name === 'string' ? env[name] : undefined;
    if (typeof secret !== 'string' || secret === '') {
      throw new ConfigError(`${field}.hmacSecret`, `names no secret binding with a value (${JSON.stringify(name)})`);
    }
    const bytes = new TextEncoder().encode(secret);
    const needed = Math.max(...hmac.map(minHmacKeyBytes));
    if (bytes.length < needed) {
      throw new ConfigError(`${field}.hmacSecret`, `secret must be at least ${needed} bytes for ${hmac.join(', ')}`);
    }
    return new HmacSecret(bytes);
  }
  if (hmac.length > 0) {
    throw new ConfigError(`${field}.algorithms`, 'HS* algorithms need an "hmacSecret", not a JWKS');
  }
  if (sources[0] === 'jwksUri') return remoteJwksFor(parseJwksUri(entry.jwksUri, `${field}.jwksUri`));
  const keys = (entry.jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(`${field}.jwks`, 'must be a JWKS object with a non-empty "keys" array');
  }
  keys.forEach((key, i) => {
    const problem = unusableJwkReason(key);
    if (problem !== undefined) throw new ConfigError(`${field}.jwks.keys[${i}]`, problem);
  });
  return new InlineJwks(new JwkSet(keys));
}
