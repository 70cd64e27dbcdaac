import type { Config } from '../config/config';
import type { SsfStreamConfig, PollDelivery } from '../config/ssf-streams';
import { readCappedText } from '../streams/read-capped';
import type { RevocationBindings } from '../revocation/revocation-check';
import { MAX_SET_BYTES, receiveSet, SetError, type SetErrorCode } from './receive';
import type { SsfBindings } from './streams';

/**
 * RFC 8936 poll delivery, one request: what we acknowledge and refuse goes out, SETs come
 * back and each goes through receiveSet, the push path's very validation and actions.
 */

const TIMEOUT_MS = 10_000;
/** Room for the JSON around `maxEvents` SETs (a compact JWS needs no escaping). */
const ENVELOPE_BYTES = 4 * 1024;

/** The poll request failed (no answer, non-2xx, unreadable): nothing was acknowledged. */
export class PollError extends Error {
  readonly code = 'poll_failed';
}

export type SetErrs = Record<string, { err: SetErrorCode; description: string }>;

export interface PollRound {
  /** SETs processed (revocations durable) or duplicates: acknowledged in the next request. */
  readonly ack: string[];
  /** SETs that failed validation, with RFC 8935's codes. */
  readonly setErrs: SetErrs;
  /** SETs left for the transmitter to deliver again (our side failed: keys, a Durable Object). */
  readonly retried: number;
  readonly moreAvailable: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function request(
  poll: PollDelivery,
  ack: readonly string[],
  setErrs: SetErrs,
): Promise<{ sets: [string, unknown][]; moreAvailable: boolean }> {
  const where = new URL(poll.endpoint).origin;
  let response: Response;
  try {
    response = await fetch(poll.endpoint, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json', authorization: `Bearer ${poll.token}` },
      body: JSON.stringify({
        maxEvents: poll.maxEvents,
        returnImmediately: true,
        ...(ack.length === 0 ? {} : { ack }),
        ...(Object.keys(setErrs).length === 0 ? {} : { setErrs }),
      }),
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    throw new PollError(`poll ${where}: no answer`);
  }
  const text = await readCappedText(response.body, response.headers.get('content-length'), poll.maxEvents * MAX_SET_BYTES + ENVELOPE_BYTES);
  // Our own words only: a transmitter's error body could echo anything.
  if (!response.ok) throw new PollError(`poll ${where}: status ${response.status}`);
  if (!('text' in text)) throw new PollError(`poll ${where}: answer too large or not UTF-8`);
  let answer: unknown;
  try {
    answer = JSON.parse(text.text);
  } catch {
    throw new PollError(`poll ${where}: answer is not JSON`);
  }
  if (!isObject(answer) || (answer.sets !== undefined && !isObject(answer.sets)))
    throw new PollError(`poll ${where}: answer has no "sets" object`);
  const sets = Object.entries(answer.sets ?? {});
  return { sets: sets.slice(0, poll.maxEvents), moreAvailable: answer.moreAvailable === true || sets.length > poll.maxEvents };
}

/**
 * One poll: sends `ack`/`setErrs` for the SETs settled before, then settles what comes back.
 * A SET is acknowledged only once receiveSet returned, so once what it revokes is durable.
 */
export async function pollRound(
  stream: SsfStreamConfig & { poll: PollDelivery },
  config: Config,
  env: RevocationBindings & SsfBindings,
  settled: { ack: readonly string[]; setErrs: SetErrs },
): Promise<PollRound> {
  const { sets, moreAvailable } = await request(stream.poll, settled.ack, settled.setErrs);
  const ack: string[] = [];
  const setErrs: SetErrs = {};
  let retried = 0;
  // One at a time: a batch is at most maxEvents SETs, and each may write to many users' objects.
  for (const [jti, set] of sets) {
    try {
      if (typeof set !== 'string') throw new SetError('invalid_request', 'a SET must be a string (one compact JWS)');
      await receiveSet(set.trim(), stream, config, env);
      ack.push(jti);
    } catch (error) {
      if (error instanceof SetError) setErrs[jti] = { err: error.code, description: error.description };
      else retried++;
    }
  }
  return { ack, setErrs, retried, moreAvailable };
}
