import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { base64url } from 'jose';
import { ConfigError } from '../config/config';
import { parseJwksUri } from '../config/key-sources';
import { parseStream, type SsfStreamConfig } from '../config/ssf-streams';
import { sha256 } from '../http/bearer-secret';
import { atWriter } from '../revocation/revoker';
import { ssfStreamObjectName } from '../revocation/storage-keys';
import { EVENTS_REQUESTED } from '../ssf/events';
import { logEvent } from '../log/logger';
import { allStreams, findStream, findUnusableStream, forgetStoredStreams, registry } from '../ssf/streams';
import { createStream, deleteStream, discover, requestVerification, TransmitterError, transmitterStatus } from '../ssf/transmitter';
import type { AppEnv } from './app-env';
import { badRequest, readJsonObject } from '../http/body';
import { errorResponse, jsonResponse } from '../http/responses';
import { formObject, SsfStreamBody, SsfTransmitterBody, StreamAuditQuery, StreamIdParam, validate, type ResponseBody } from './schemas';

/** docs/reference.md §7: Shared Signals streams, managed through the admin API. Mounted at /v1/admin/ssf (behind adminAuth). */
export const ssfAdminRoutes = new Hono<AppEnv>();

const random = (bytes: number) => base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));

/** A transmitter that fails us is a 502 naming what went wrong (never echoing what it sent). */
async function atTransmitter<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TransmitterError) throw new HTTPException(502, { res: errorResponse(502, error.code, error.message) });
    throw error;
  }
}

/** What the operator sent, parsed like configuration: a mistake in it is their 400, not our misconfiguration. */
function operatorInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) throw badRequest(error.message);
    throw error;
  }
}

const parseEntry = (c: Context<AppEnv>, entry: Record<string, unknown>): SsfStreamConfig =>
  operatorInput(() => parseStream(entry, {}, c.var.config.issuers, 'stream', true));

async function streamOf(c: Context<AppEnv>): Promise<SsfStreamConfig> {
  const id = validate(StreamIdParam, c.req.param('id'), 'id');
  const stream = await atWriter(() => findStream(c.var.config, c.env, id));
  if (stream === undefined) throw new HTTPException(404, { res: errorResponse(404, 'not_found', `no stream ${JSON.stringify(id)}`) });
  return stream;
}

function tokenFor(stream: SsfStreamConfig, token: string | undefined): string {
  if (token === undefined) throw badRequest('"transmitterToken" is required for a managed stream');
  if (stream.transmitter === undefined) throw badRequest('this stream has no transmitter API');
  return token;
}

/** A stream as the admin API shows it: never its secret or keys. */
function streamView(stream: SsfStreamConfig, origin: string): ResponseBody<'SsfStream'> {
  return {
    id: stream.id,
    mode: stream.mode,
    issuer: stream.issuer,
    audience: stream.audience,
    algorithms: [...stream.algorithms],
    pushEndpoint: `${origin}/v1/ssf/${stream.id}/events`,
    pushSecret: stream.push !== undefined,
    ...(stream.transmitter === undefined ? {} : { transmitterStreamId: stream.transmitter.streamId }),
    // Never the poll token.
    ...(stream.poll === undefined
      ? {}
      : {
          poll: { endpoint: stream.poll.endpoint, maxEvents: stream.poll.maxEvents, intervalSeconds: stream.poll.intervalSeconds },
        }),
  };
}

const stateOf = (c: Context<AppEnv>, id: string) => c.env.SSF_STREAM.getByName(ssfStreamObjectName(id));

const originOf = (c: Context<AppEnv>) => new URL(c.req.url).origin;

/** Where transmitters reach us, when not this request's origin: https (http on localhost). */
const pushBase = (raw: string) => operatorInput(() => parseJwksUri(raw, '"pushBaseUrl"')).replace(/\/$/, '');

ssfAdminRoutes.get('/streams', async (c) => {
  const { streams, unusable } = await atWriter(() => allStreams(c.var.config, c.env));
  return jsonResponse({
    streams: streams.map((s) => streamView(s, originOf(c))),
    unusable: unusable.map(({ id, problem }) => ({ id, problem })),
  } satisfies ResponseBody<'SsfStreamList'>);
});

/**
 * Creates a stream. Managed (`transmitter` given): discovery and its issuer check, then a
 * push stream at the transmitter with our endpoint and a fresh secret, which only the
 * transmitter keeps (we keep its SHA-256). Manual: stored as given; the secret is shown once.
 */
ssfAdminRoutes.post('/streams', async (c) => {
  const body = validate(SsfStreamBody, await readJsonObject(c));
  const id = `m${random(9)}`;
  const secret = random(32);
  const secretDigest = base64url.encode(new Uint8Array(await sha256(secret)));
  const endpoint = `${body.pushBaseUrl === undefined ? originOf(c) : pushBase(body.pushBaseUrl)}/v1/ssf/${id}/events`;
  const common = {
    id,
    algorithms: body.algorithms ?? ['RS256'],
    subjects: body.subjects,
    events: body.events,
    acceptMissingTyp: body.acceptMissingTyp,
  };
  let record: Record<string, unknown>;
  let extra: Record<string, unknown>;
  if (body.transmitter !== undefined) {
    const token = body.transmitterToken;
    if (token === undefined) throw badRequest('"transmitterToken" is required with "transmitter"');
    if (body.poll !== undefined) throw badRequest('"poll" is for manual streams: a managed stream is created for push');
    const issuer = body.transmitter;
    // Everything we can check is checked before the transmitter is asked to create anything.
    parseEntry(c, { ...common, issuer, jwksUri: issuer, audience: 'pending', secretDigest });
    const metadata = await atTransmitter(() => discover(issuer));
    const created = await atTransmitter(() =>
      createStream(metadata, token, {
        issuer,
        endpoint,
        secret,
        eventsRequested: body.eventsRequested ?? EVENTS_REQUESTED,
      }),
    );
    record = {
      ...common,
      issuer,
      jwksUri: metadata.jwksUri,
      audience: created.audience,
      secretDigest,
      transmitter: {
        streamId: created.streamId,
        configurationEndpoint: metadata.configurationEndpoint,
        verificationEndpoint: metadata.verificationEndpoint,
        statusEndpoint: metadata.statusEndpoint,
      },
    };
    extra = { eventsDelivered: created.eventsDelivered };
  } else {
    const poll = body.poll === undefined ? {} : { poll: { ...body.poll, token: undefined, tokenValue: body.poll.token } };
    if (body.issuer === undefined || body.jwksUri === undefined || body.audience === undefined) {
      throw badRequest('a manual stream needs "issuer", "jwksUri" and "audience" (or give "transmitter")');
    }
    const withSecret = body.pushSecret ?? true;
    record = {
      ...common,
      issuer: body.issuer,
      jwksUri: body.jwksUri,
      audience: body.audience,
      ...(withSecret ? { secretDigest } : {}),
      ...poll,
    };
    extra = withSecret ? { secret } : {};
  }
  const stream = parseEntry(c, record);
  // SSF_STREAMS here; the stored streams in the registry, atomically with the insert.
  const taken = [...c.var.config.ssfStreams.values()].some((s) => s.audience === stream.audience);
  const added = taken ? 'audience_taken' : await atWriter(() => registry(c.env).addStream(id, JSON.stringify(record), stream.audience));
  if (added !== 'added') throw badRequest(added === 'audience_taken' ? '"audience" is another stream\'s too' : 'stream id taken: retry');
  forgetStoredStreams(c.var.config);
  if (stream.poll !== undefined) await atWriter(() => stateOf(c, id).startPolling(id, stream.poll!.intervalSeconds));
  return jsonResponse({ ...streamView(stream, originOf(c)), ...extra } satisfies ResponseBody<'SsfStreamCreated'>, 201);
});

/** The stream, what its receiver side saw, and (with X-Transmitter-Token) the transmitter's status. */
ssfAdminRoutes.get('/streams/:id', async (c) => {
  const stream = await streamOf(c);
  const state = stateOf(c, stream.id);
  const status = await atWriter(() => state.status());
  const poll = stream.poll === undefined ? {} : { poll: await atWriter(() => state.pollStatus()) };
  const token = c.req.header('X-Transmitter-Token');
  const endpoint = stream.transmitter?.statusEndpoint;
  const remote =
    token === undefined || endpoint === undefined || stream.transmitter === undefined
      ? {}
      : { transmitterStatus: await atTransmitter(() => transmitterStatus(endpoint, token, stream.transmitter!.streamId)) };
  return jsonResponse({
    ...streamView(stream, originOf(c)),
    status: { ...status, ...remote, ...poll },
  } satisfies ResponseBody<'SsfStreamStatus'>);
});

/**
 * SSF 1.0 §8.1.4: a random `state` the next verification SET must carry. A managed stream's
 * transmitter is asked for it; for any other stream, hand the state to the transmitter
 * yourself (Google: `stream:verify`).
 */
ssfAdminRoutes.post('/streams/:id/verify', async (c) => {
  const stream = await streamOf(c);
  const { transmitterToken } = validate(SsfTransmitterBody, await readJsonObject(c));
  const state = random(16);
  const transmitter = stream.transmitter;
  const token = transmitter?.verificationEndpoint === undefined ? undefined : tokenFor(stream, transmitterToken);
  await atWriter(() => stateOf(c, stream.id).expectVerification(state));
  if (token !== undefined && transmitter?.verificationEndpoint !== undefined) {
    const endpoint = transmitter.verificationEndpoint;
    await atTransmitter(() => requestVerification(endpoint, token, transmitter.streamId, state));
  }
  return jsonResponse({ id: stream.id, state, requested: token !== undefined } satisfies ResponseBody<'SsfVerification'>);
});

/**
 * Deletes a stream created through the admin API, here whatever its transmitter says: a stream
 * must not outlive its operator's decision because a transmitter is down, or gone, or our token
 * for it expired. A managed stream's transmitter is asked first when a `transmitterToken` is
 * given; the answer says what it said. An unusable stored stream (listed under `unusable`) is
 * deleted too.
 */
ssfAdminRoutes.delete('/streams/:id', async (c) => {
  const id = validate(StreamIdParam, c.req.param('id'), 'id');
  const stream = await atWriter(() => findStream(c.var.config, c.env, id));
  if (stream?.mode === 'config') throw badRequest('this stream is defined in SSF_STREAMS: remove it there');
  if (stream === undefined && (await atWriter(() => findUnusableStream(c.var.config, c.env, id))) === undefined) {
    throw new HTTPException(404, { res: errorResponse(404, 'not_found', `no stream ${JSON.stringify(id)}`) });
  }
  const { transmitterToken } = validate(SsfTransmitterBody, await readJsonObject(c));
  const transmitter = stream?.transmitter;
  let said: ResponseBody<'SsfStreamDeleted'>['transmitter'] = 'not_asked';
  if (transmitter !== undefined && transmitterToken !== undefined) {
    try {
      await deleteStream(transmitter.configurationEndpoint, transmitterToken, transmitter.streamId);
      said = 'deleted';
    } catch (error) {
      if (!(error instanceof TransmitterError)) throw error;
      said = 'failed';
      logEvent('ssf_transmitter_delete_failed', { stream: id, error: error.code });
    }
  }
  await atWriter(() => registry(c.env).removeStream(id));
  forgetStoredStreams(c.var.config);
  await atWriter(() => stateOf(c, id).stopPolling());
  return jsonResponse({
    id,
    deleted: true,
    ...(transmitter === undefined ? {} : { transmitter: said }),
  } satisfies ResponseBody<'SsfStreamDeleted'>);
});

/**
 * RFC 8936: polls the transmitter now (sending pending acks), starting the stream's alarm if
 * it was not running, and answers the poll status. 400 for a stream that is pushed to.
 */
ssfAdminRoutes.post('/streams/:id/poll', async (c) => {
  const stream = await streamOf(c);
  if (stream.poll === undefined) throw badRequest('this stream is pushed to, not polled');
  return jsonResponse({
    id: stream.id,
    poll: await atWriter(() => stateOf(c, stream.id).pollNow(stream.id)),
  } satisfies ResponseBody<'SsfPollStatus'>);
});

/** The stream's audit trail: every SET it received, what each event did (`ssf_event`). */
ssfAdminRoutes.get('/streams/:id/audit', async (c) => {
  const stream = await streamOf(c);
  const { limit, cursor } = validate(StreamAuditQuery, formObject(new URL(c.req.url).searchParams));
  return jsonResponse((await atWriter(() => stateOf(c, stream.id).auditPage(limit, cursor))) satisfies ResponseBody<'AuditPage'>);
});
