import { parseJwksUri } from '../config/key-sources';
import { ConfigError } from '../config/vars';
import { readCappedText } from '../streams/read-capped';

/**
 * A client of a transmitter's stream management API (SSF 1.0 §7–8): discovery, stream
 * creation, verification, status, deletion. Every call takes the transmitter's management
 * bearer from the admin's request; killswitch never stores it.
 */

/** The transmitter answered something we cannot use; the admin route says what (502). */
export class TransmitterError extends Error {
  readonly code = 'transmitter_error';
}

export const PUSH_DELIVERY = 'urn:ietf:rfc:8935';
const TIMEOUT_MS = 5_000;
const MAX_ANSWER_BYTES = 64 * 1024;

export interface TransmitterMetadata {
  readonly jwksUri: string;
  readonly configurationEndpoint: string;
  readonly verificationEndpoint?: string;
  readonly statusEndpoint?: string;
}

export interface CreatedStream {
  readonly streamId: string;
  readonly audience: string;
  readonly eventsDelivered: readonly string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function url(value: unknown, what: string): string {
  try {
    return parseJwksUri(value, what);
  } catch (error) {
    throw new TransmitterError(error instanceof ConfigError ? error.message : `${what} is not a URL`);
  }
}

/** SSF 1.0 §7.2: `/.well-known/ssf-configuration` goes between the issuer's host and its path. */
export function ssfConfigurationUrl(issuer: string): string {
  const parsed = new URL(url(issuer, 'transmitter'));
  const path = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/$/, '');
  return `${parsed.origin}/.well-known/ssf-configuration${path}`;
}

/** One call; the answer's JSON (undefined for an empty body). Non-2xx is a TransmitterError. */
async function call(method: string, target: string, token: string | undefined, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(target, {
      method,
      headers: {
        accept: 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    throw new TransmitterError(`${method} ${target}: no answer`);
  }
  const text = await readCappedText(response.body, response.headers.get('content-length'), MAX_ANSWER_BYTES);
  // Our own words only: a transmitter's error body could echo anything.
  if (!response.ok) throw new TransmitterError(`${method} ${target}: status ${response.status}`);
  if (!('text' in text)) throw new TransmitterError(`${method} ${target}: answer too large or not UTF-8`);
  if (text.text.trim() === '') return undefined;
  try {
    return JSON.parse(text.text);
  } catch {
    throw new TransmitterError(`${method} ${target}: answer is not JSON`);
  }
}

/** Discovery, with the `issuer` check of SSF 1.0 §7.2.1: the metadata must name the issuer asked for. */
export async function discover(issuer: string): Promise<TransmitterMetadata> {
  const metadata = await call('GET', ssfConfigurationUrl(issuer), undefined);
  if (!isObject(metadata)) throw new TransmitterError('the SSF configuration is not a JSON object');
  if (metadata.issuer !== issuer) throw new TransmitterError('the SSF configuration names another issuer');
  const methods = metadata.delivery_methods_supported;
  if (Array.isArray(methods) && !methods.includes(PUSH_DELIVERY)) throw new TransmitterError('the transmitter does not push (RFC 8935)');
  const optional = (name: string) => (metadata[name] === undefined ? undefined : url(metadata[name], name));
  return {
    jwksUri: url(metadata.jwks_uri, 'jwks_uri'),
    configurationEndpoint: url(metadata.configuration_endpoint, 'configuration_endpoint'),
    verificationEndpoint: optional('verification_endpoint'),
    statusEndpoint: optional('status_endpoint'),
  };
}

/** SSF 1.0 §8.1.1.1: a push stream to `endpoint`, authenticated with `secret`. */
export async function createStream(
  metadata: TransmitterMetadata,
  token: string,
  input: { issuer: string; endpoint: string; secret: string; eventsRequested: readonly string[] },
): Promise<CreatedStream> {
  const created = await call('POST', metadata.configurationEndpoint, token, {
    delivery: { method: PUSH_DELIVERY, endpoint_url: input.endpoint, authorization_header: `Bearer ${input.secret}` },
    events_requested: input.eventsRequested,
    description: 'killswitch',
  });
  if (!isObject(created) || typeof created.stream_id !== 'string' || created.stream_id === '') {
    throw new TransmitterError('the created stream has no stream_id');
  }
  if (created.iss !== undefined && created.iss !== input.issuer) throw new TransmitterError('the created stream names another issuer');
  const aud = Array.isArray(created.aud) ? created.aud[0] : created.aud;
  if (typeof aud !== 'string' || aud === '') throw new TransmitterError('the created stream has no aud');
  const delivered = Array.isArray(created.events_delivered) ? created.events_delivered.filter((e) => typeof e === 'string') : [];
  return { streamId: created.stream_id, audience: aud, eventsDelivered: delivered };
}

/** SSF 1.0 §8.1.4.2: ask for a verification SET carrying `state`. */
export async function requestVerification(endpoint: string, token: string, streamId: string, state: string): Promise<void> {
  await call('POST', endpoint, token, { stream_id: streamId, state });
}

/** SSF 1.0 §8.1.2.1: the stream's status at the transmitter (`enabled`, `paused`, `disabled`). */
export async function transmitterStatus(endpoint: string, token: string, streamId: string): Promise<string> {
  const answer = await call('GET', `${endpoint}?stream_id=${encodeURIComponent(streamId)}`, token);
  const status = isObject(answer) ? answer.status : undefined;
  return typeof status === 'string' ? status.slice(0, 32) : 'unknown';
}

/** SSF 1.0 §8.1.1.5. */
export async function deleteStream(endpoint: string, token: string, streamId: string): Promise<void> {
  await call('DELETE', `${endpoint}?stream_id=${encodeURIComponent(streamId)}`, token);
}
