// @ts-check
/** The CLI's `ssf` commands: Shared Signals streams (docs/security-events.md). */
/** @import { Command } from 'commander' */
import { usageError } from './errors.mjs';
import { fields, table, when } from './format.mjs';

/** @import { Cli, Options, WorkerRecord } from './session.mjs' */

/** The transmitter's management bearer: only from $KILLSWITCH_TRANSMITTER_TOKEN (never argv). */
/** @param {NodeJS.ProcessEnv} env @param {boolean} required */
const transmitterToken = (env, required) => {
  const value = env.KILLSWITCH_TRANSMITTER_TOKEN;
  if (required && (value === undefined || value === '')) {
    throw usageError(
      "set KILLSWITCH_TRANSMITTER_TOKEN to the transmitter's management API token (it is sent to the worker for this call only)",
    );
  }
  return value === '' ? undefined : value;
};
/** @param {string | undefined} value @param {string} name */
const jsonOption = (value, name) => {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw usageError(`${name} must be JSON`);
  }
};
const subjectsOf = (/** @type {Options} */ options) => {
  if (options.subjects !== undefined) return jsonOption(options.subjects, '--subjects');
  if (options.mapIssSub === undefined) return undefined;
  /** @type {Record<string, { issuer: string }>} */
  const table = {};
  for (const pair of options.mapIssSub) {
    const at = pair.lastIndexOf('=');
    if (at <= 0) throw usageError('--map-iss-sub takes <SET subject iss>=<trusted token issuer>');
    // No `claim`: the id is read as the issuer's userClaim (sub unless TRUSTED_ISSUERS says otherwise).
    table[pair.slice(0, at)] = { issuer: pair.slice(at + 1) };
  }
  return { iss_sub: table, email: options.email === true };
};
const describeStream = (/** @type {WorkerRecord} */ s) =>
  fields([
    ['mode', s.mode],
    ['issuer', s.issuer],
    ['audience', s.audience],
    ['push endpoint', s.pushEndpoint],
    ['push secret', s.pushSecret ? 'yes' : 'no (signature only)'],
    ['transmitter stream', s.transmitterStreamId],
    [
      'poll endpoint',
      s.poll === undefined ? undefined : `${s.poll.endpoint} (every ${s.poll.intervalSeconds} s, ${s.poll.maxEvents} SETs)`,
    ],
  ]);
const describePoll = (/** @type {WorkerRecord} */ p) =>
  fields([
    ['polling', p.polling ? 'yes' : 'no'],
    ['failures in a row', p.failures],
    ['last error', p.lastError ?? undefined],
    ['last poll', p.lastPollAt == null ? undefined : when(p.lastPollAt)],
    ['acks pending', p.pendingAcks],
    ['next poll', p.nextPollAt == null ? undefined : when(p.nextPollAt)],
  ]);
const streamOptions = (/** @type {Command} */ command) =>
  command
    .option(
      '--map-iss-sub <iss=issuer...>',
      'map SET subjects of this iss to the user id (userClaim, sub by default) of this trusted token issuer',
    )
    .option('--email', 'with --map-iss-sub: also act on email subjects (off by default: addresses are recycled)')
    .option('--subjects <json>', 'the whole subjects object instead, as in SSF_STREAMS')
    .option('--events <json>', 'per event type URI: "revoke_user" or "audit", over the defaults')
    .option('--alg <alg...>', 'accepted algorithms (default RS256)')
    .option('--accept-missing-typ', 'accept SETs without the JWS typ (some transmitters omit it)')
    .option('--push-base-url <url>', 'the origin transmitters reach the worker on, if not --url');
const streamBody = (/** @type {Options} */ options) => ({
  subjects: subjectsOf(options),
  events: jsonOption(options.events, '--events'),
  algorithms: options.alg,
  acceptMissingTyp: options.acceptMissingTyp,
  pushBaseUrl: options.pushBaseUrl,
});

/**
 * ssf list, create, add, show, poll, verify, delete, audit.
 * @param {Command} program
 * @param {Cli} cli
 */
export function addSsfCommands(program, cli) {
  const { context, emit, env } = cli;
  const ssf = program.command('ssf').description('Shared Signals streams: identity providers push security events that revoke users');
  ssf
    .command('list')
    .description('every stream: SSF_STREAMS and those created here (GET /v1/admin/ssf/streams)')
    .action(async (_options, command) => {
      const { client } = context(command);
      const { body } = await client().expectOk('GET', '/v1/admin/ssf/streams', { auth: 'admin' });
      const streams = Array.isArray(body.streams) ? body.streams : [];
      emit(
        body,
        streams.length === 0
          ? 'no streams'
          : table(
              ['id', 'mode', 'issuer', 'push endpoint'],
              streams.map((/** @type {WorkerRecord} */ s) => [s.id, s.mode, s.issuer, s.pushEndpoint]),
            ),
      );
    });

  streamOptions(
    ssf
      .command('create')
      .description(
        "create a stream at a transmitter's SSF management API (discovery, issuer check, our push endpoint and a fresh secret); token: $KILLSWITCH_TRANSMITTER_TOKEN",
      )
      .requiredOption('--transmitter <issuer>', "the transmitter's issuer, e.g. https://example.okta.com")
      .option('--event <uri...>', 'event types to ask for (default: every type killswitch acts on)'),
  ).action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
    const { client } = context(command);
    const json = {
      transmitter: options.transmitter,
      transmitterToken: transmitterToken(env, true),
      ...streamBody(options),
      eventsRequested: options.event,
    };
    const { body } = await client().expectOk('POST', '/v1/admin/ssf/streams', { auth: 'admin', json });
    emit(
      body,
      [`created stream ${body.id} at ${body.issuer}`, describeStream(body), '', `next: killswitch ssf verify ${body.id}`].join('\n'),
    );
  });

  streamOptions(
    ssf
      .command('add')
      .description(
        "register a stream set up by hand at the transmitter (e.g. Google's RISC stream:update); prints its push endpoint and secret once",
      )
      .requiredOption('--issuer <iss>', "the SETs' iss")
      .requiredOption('--jwks-uri <url>', "the transmitter's JWKS")
      .requiredOption('--audience <aud>', 'the aud the transmitter puts in SETs (unique per stream)')
      .option('--no-secret', 'signature only: the transmitter sends no Authorization header (Google)')
      .option('--poll-endpoint <url>', "RFC 8936 poll delivery: the transmitter's poll endpoint; its bearer from $KILLSWITCH_POLL_TOKEN")
      .option('--poll-interval <seconds>', 'with --poll-endpoint: seconds between polls, 1 to 300 (default 10)', Number)
      .option('--poll-max-events <n>', 'with --poll-endpoint: SETs per poll, 1 to 64 (default 16)', Number),
  ).action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
    const { client } = context(command);
    /** @type {Record<string, unknown>} */
    const json = {
      issuer: options.issuer,
      jwksUri: options.jwksUri,
      audience: options.audience,
      pushSecret: options.secret,
      ...streamBody(options),
    };
    if (options.pollEndpoint !== undefined) {
      const token = env.KILLSWITCH_POLL_TOKEN;
      if (token === undefined || token === '')
        throw usageError("set KILLSWITCH_POLL_TOKEN to the transmitter's poll endpoint bearer (kept by the worker, never shown)");
      json.poll = { endpoint: options.pollEndpoint, token, intervalSeconds: options.pollInterval, maxEvents: options.pollMaxEvents };
    }
    const { body } = await client().expectOk('POST', '/v1/admin/ssf/streams', { auth: 'admin', json });
    const lines = [`added stream ${body.id}`, describeStream(body)];
    if (body.secret !== undefined)
      lines.push('', '# The push secret, shown once: the transmitter sends it as "Authorization: Bearer <secret>".', body.secret);
    emit(body, lines.join('\n'));
  });

  ssf
    .command('show')
    .description("a stream and its status; with $KILLSWITCH_TRANSMITTER_TOKEN also the transmitter's status")
    .argument('<id>', 'the stream id')
    .action(async (id, _options, command) => {
      const { client } = context(command);
      const token = transmitterToken(env, false);
      const { body } = await client().expectOk('GET', `/v1/admin/ssf/streams/${encodeURIComponent(id)}`, {
        auth: 'admin',
        headers: token === undefined ? {} : { 'X-Transmitter-Token': token },
      });
      const st = body.status ?? {};
      emit(
        body,
        [
          `stream ${body.id}`,
          describeStream(body),
          fields([
            ['verified', st.verifiedAt == null ? (st.verificationPending ? 'pending' : 'never') : when(st.verifiedAt)],
            ['verification problem', st.verificationProblem ?? undefined],
            ['transmitter status', st.transmitterStatus ?? undefined],
            ['last event', st.lastEventAt == null ? undefined : when(st.lastEventAt)],
          ]),
          ...(st.poll === undefined ? [] : [describePoll(st.poll)]),
        ].join('\n'),
      );
    });

  ssf
    .command('poll')
    .description('a polled stream (RFC 8936): poll the transmitter now, sending pending acks, and show the poll status')
    .argument('<id>', 'the stream id')
    .action(async (id, _options, command) => {
      const { client } = context(command);
      const { body } = await client().expectOk('POST', `/v1/admin/ssf/streams/${encodeURIComponent(id)}/poll`, { auth: 'admin' });
      emit(body, [`stream ${body.id}`, describePoll(body.poll)].join('\n'));
    });

  ssf
    .command('verify')
    .description('ask for a verification event with a random state (a managed stream: the transmitter is asked; else pass the state on)')
    .argument('<id>', 'the stream id')
    .action(async (id, _options, command) => {
      const { client } = context(command);
      const token = transmitterToken(env, false);
      const { body } = await client().expectOk('POST', `/v1/admin/ssf/streams/${encodeURIComponent(id)}/verify`, {
        auth: 'admin',
        json: token === undefined ? {} : { transmitterToken: token },
      });
      emit(
        body,
        body.requested
          ? `asked the transmitter for a verification event (state ${body.state}); check with: killswitch ssf show ${body.id}`
          : `expecting a verification event with state ${body.state}: give this state to the transmitter (Google: stream:verify)`,
      );
    });

  ssf
    .command('delete')
    .description('delete a stream created here (a managed one at its transmitter first: $KILLSWITCH_TRANSMITTER_TOKEN)')
    .argument('<id>', 'the stream id')
    .action(async (id, _options, command) => {
      const { client } = context(command);
      const token = transmitterToken(env, false);
      const { body } = await client().expectOk('DELETE', `/v1/admin/ssf/streams/${encodeURIComponent(id)}`, {
        auth: 'admin',
        json: token === undefined ? {} : { transmitterToken: token },
      });
      emit(body, `deleted stream ${body.id}`);
    });

  ssf
    .command('audit')
    .description('every security event a stream received and what it did, newest first')
    .argument('<id>', 'the stream id')
    .option('--limit <n>', 'events per page')
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .action(async (id, options, command) => {
      const { client } = context(command);
      if (options.limit !== undefined && !/^\d+$/.test(options.limit)) throw usageError('--limit must be a positive integer');
      const { body } = await client().expectOk('GET', `/v1/admin/ssf/streams/${encodeURIComponent(id)}/audit`, {
        auth: 'admin',
        query: { limit: options.limit, cursor: options.cursor },
      });
      const events = Array.isArray(body.events) ? body.events : [];
      const lines = [
        events.length === 0
          ? `no events on ${id}`
          : table(
              ['at', 'sub', 'set jti', 'what'],
              events.map((/** @type {WorkerRecord} */ e) => [
                new Date(e.at * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
                e.sub ?? '',
                e.jti ?? '',
                e.reason ?? '',
              ]),
            ),
      ];
      if (body.cursor) lines.push('', `more: killswitch ssf audit ${id} --cursor ${body.cursor}`);
      emit(body, lines.join('\n'));
    });
}
