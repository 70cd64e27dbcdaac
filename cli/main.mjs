// @ts-check
/**
 * killswitch CLI: commands, options and output. Every command that talks to the worker goes
 * through Client (client.mjs); everything written to stdout/stderr goes through `write`, which
 * redacts the admin key as a last line of defence (it is never put in a message to begin with).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { baseUrl, Client, DEFAULT_RETRIES, failure } from './client.mjs';
import { CliError, EXIT, usageError } from './errors.mjs';
import { describeReason, fields, table, when } from './format.mjs';

// jose is loaded only by the commands that need it: the CLI starts faster without it.
const KEY_ALGORITHMS = ['ES256', 'RS256', 'EdDSA', 'HS256'];
const keyTools = () => import('./keys.mjs');

const VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

/**
 * A record inside the worker's JSON answer (a stream, an audit event…): as loosely typed as the
 * answer itself (see Answer in client.mjs).
 * @typedef {Record<string, any>} WorkerRecord
 */
/** @typedef {import('commander').OptionValues} Options */

/**
 * The admin key as it may appear in argv (`--admin-key K`, `--admin-key=K`) and the environment.
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 */
function adminKeysIn(argv, env) {
  const keys = [env.KILLSWITCH_ADMIN_KEY];
  argv.forEach((arg, i) => {
    if (arg === '--admin-key') keys.push(argv[i + 1]);
    else if (arg.startsWith('--admin-key=')) keys.push(arg.slice('--admin-key='.length));
  });
  return /** @type {string[]} */ (keys.filter((k) => typeof k === 'string' && k.length >= 4));
}

/**
 * @param {string[]} argv process.argv
 * @param {{ env?: NodeJS.ProcessEnv, stdout?: NodeJS.WritableStream, stderr?: NodeJS.WritableStream & { isTTY?: boolean }, stdin?: NodeJS.ReadableStream & { isTTY?: boolean } }} [io]
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, io = {}) {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const stdin = io.stdin ?? process.stdin;
  // The transmitter's management token comes only from the environment, and is redacted like the admin key.
  const transmitterSecret = env.KILLSWITCH_TRANSMITTER_TOKEN;
  const secrets = [...adminKeysIn(argv, env), ...(typeof transmitterSecret === 'string' && transmitterSecret.length >= 4 ? [transmitterSecret] : [])];
  const redact = (/** @type {unknown} */ text) => secrets.reduce((t, key) => t.split(key).join('[redacted]'), String(text));
  /** @param {NodeJS.WritableStream} stream @param {string} text */
  const write = (stream, text) => {
    stream.write(redact(text.endsWith('\n') ? text : `${text}\n`));
  };

  let jsonMode = argv.includes('--json');
  /** The exit code of a command that completed (verify: 1 for a refused token). */
  /** @type {number} */
  let resultCode = EXIT.OK;
  const readStdin = async () => {
    if (stdin.isTTY) write(stderr, 'reading from stdin; end with Ctrl-D');
    let data = '';
    for await (const chunk of stdin) data += chunk;
    return data.trim();
  };

  /** Global options and the client they describe. @param {Command} command */
  const context = (command) => {
    const options = command.optsWithGlobals();
    jsonMode = options.json === true;
    const timeoutMs = Number(options.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw usageError('--timeout must be a positive integer (milliseconds)');
    const retries = Number(options.retries);
    if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw usageError('--retries must be an integer from 0 to 10');
    const fromFlag = options.adminKey !== undefined;
    const client = () =>
      new Client({
        url: baseUrl(options.url ?? env.KILLSWITCH_URL),
        adminKey: fromFlag ? options.adminKey : env.KILLSWITCH_ADMIN_KEY,
        adminKeySource: fromFlag ? '--admin-key' : 'KILLSWITCH_ADMIN_KEY',
        timeoutMs,
        retries,
        verbose: (line) => {
          if (options.verbose) write(stderr, line);
        },
      });
    return { options, client };
  };

  /** Prints `human` (a string) or, with --json, `data` as one line of JSON. @param {unknown} data @param {string} [human] */
  const emit = (data, human) => write(stdout, jsonMode || human === undefined ? JSON.stringify(data) : human);

  /** A token argument: the token itself, or `-` for stdin (keeps it out of shell history). */
  const tokenArgument = async (/** @type {string | undefined} */ value) => {
    const token = value === '-' ? await readStdin() : value?.trim();
    if (!token) throw usageError('no token given (pass it as an argument, or - to read it from stdin)');
    return token;
  };

  const program = new Command('killswitch')
    .description('Operate a killswitch worker: verify and revoke tokens, read audit events, make keys.')
    .version(VERSION, '-V, --version')
    .option('--url <url>', 'the worker, e.g. https://killswitch.example.com (default: $KILLSWITCH_URL)')
    .option('--admin-key <key>', 'admin key (default: $KILLSWITCH_ADMIN_KEY; prefer the variable: flags land in shell history)')
    .option('--json', 'print JSON on stdout (errors as JSON on stderr)')
    .option('-v, --verbose', 'log each request on stderr: method, URL, status, time (never keys or tokens)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '10000')
    .option('--retries <n>', 'tries again on 503, 429 or a failed connection, with backoff, at most this often', String(DEFAULT_RETRIES))
    .exitOverride()
    .configureOutput({
      writeOut: (text) => stdout.write(redact(text)),
      writeErr: (text) => stderr.write(redact(text)),
      outputError: (text, writeErr) => writeErr(jsonMode ? `${JSON.stringify({ error: 'usage', message: text.replace(/^error: /, '').trim() })}\n` : text),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok; 1 token not active (verify); 2 usage or configuration; 3 worker unreachable;
            4 admin key refused (401); 5 request refused (400/404/413); 6 worker error (5xx).
A token argument may be - to read it from stdin, e.g.  pbpaste | killswitch verify -`,
    );

  // ---- keys -------------------------------------------------------------------------------
  const keys = program.command('keys').description('signing keys (offline)');
  keys
    .command('generate')
    .description('a new signing key: the private JWK (a secret) and the public JWKS')
    .addOption(new Option('--alg <alg>', 'algorithm').choices(KEY_ALGORITHMS).default('ES256'))
    .option('--kid <kid>', 'key id (default: derived from the key thumbprint)')
    .option('--out <file>', 'write the private JWK to this file (mode 600, not overwritten) and print only the public part')
    .action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
      context(command);
      const key = await (await keyTools()).generateKey(options.alg, options.kid);
      if (options.out !== undefined) {
        try {
          writeFileSync(options.out, `${JSON.stringify(key.privateJwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
        } catch (error) {
          const { code, message } = /** @type {NodeJS.ErrnoException} */ (error);
          throw usageError(`cannot write ${options.out}: ${code === 'EEXIST' ? 'it exists (not overwritten)' : code ?? message}`);
        }
        const { privateJwk: _private, secret: _secret, ...shown } = key;
        if (jsonMode) return emit({ ...shown, privateJwkFile: options.out });
        return emit(null, key.jwks === null
          ? `# HS256 secret written to ${options.out} as a private JWK (kid ${key.kid}); symmetric: no public JWKS.`
          : `# Private JWK written to ${options.out} (kid ${key.kid}). Public JWKS:\n${JSON.stringify(key.jwks)}`);
      }
      if (jsonMode) return emit(key);
      if (key.alg === 'HS256') {
        return emit(null, [
          `# HS256 secret (kid ${key.kid}): keep it secret. Store it with`,
          `#   npx wrangler secret put MY_HMAC_SECRET     and name it in TRUSTED_ISSUERS: "hmacSecret":"MY_HMAC_SECRET"`,
          key.secret,
          '',
          '# The same secret as a private JWK (for `killswitch token mint --key`): keep it secret.',
          JSON.stringify(key.privateJwk),
          '',
          '# HS256 is symmetric: there is no public JWKS to publish.',
        ].join('\n'));
      }
      return emit(null, [
        `# Private JWK (${key.alg}, kid ${key.kid}): keep it secret. For killswitch's own token service:`,
        `#   echo '[<this JWK>]' | npx wrangler secret put TOKEN_SIGNING_KEYS`,
        JSON.stringify(key.privateJwk),
        '',
        '# Public JWKS: safe to publish; put it in TRUSTED_ISSUERS as "jwks" (or serve it at a jwksUri).',
        JSON.stringify(key.jwks),
      ].join('\n'));
    });

  // ---- token mint -------------------------------------------------------------------------
  const token = program.command('token').description('tokens for development and testing (offline)');
  token
    .command('mint')
    .description('sign a JWT with a private JWK (development and testing only)')
    .requiredOption('--key <file|json|->', 'the private JWK: a file, inline JSON, or - for stdin (also a JWKS or a TOKEN_SIGNING_KEYS array: the first key)')
    .requiredOption('--sub <sub>', 'subject (the user)')
    .requiredOption('--iss <issuer>', 'issuer, as in TRUSTED_ISSUERS')
    .option('--aud <audience...>', 'audience(s)', ['api'])
    .option('--ttl <seconds>', 'lifetime in seconds', '300')
    .option('--ver <n>', 'the version claim (ver)')
    .option('--scope <scopes>', 'scope, space-separated')
    .option('--no-jti', 'leave out jti')
    .option('--claim <name=value...>', 'extra claims (value parsed as JSON when it is JSON)')
    .action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
      context(command);
      const { loadPrivateJwk, mintToken } = await keyTools();
      // commander has checked the required options and applied the defaults.
      const mintOptions = /** @type {Parameters<typeof mintToken>[1]} */ (options);
      const minted = await mintToken(await loadPrivateJwk(options.key, readStdin), mintOptions);
      emit(minted, minted.token);
    });

  // ---- verify -----------------------------------------------------------------------------
  program
    .command('verify')
    .description('ask the worker whether a token is active now (GET /v1/verify); exit 0 active, 1 refused')
    .argument('<token>', 'the token, or - to read it from stdin')
    .option('--strict', 'read the Durable Objects instead of KV (?strict=1)')
    .action(async (tokenArg, options, command) => {
      const { client } = context(command);
      const jwt = await tokenArgument(tokenArg);
      const answer = await client().request('GET', '/v1/verify', { auth: { bearer: jwt }, query: { strict: options.strict ? '1' : undefined } });
      const body = answer.body;
      if (answer.status === 200 && body?.active === true) {
        emit(body, [
          `active: token of ${body.sub} from ${body.iss}`,
          fields([
            ['jti', body.jti],
            ['audience', Array.isArray(body.aud) ? body.aud.join(' ') : body.aud],
            ['scope', body.scope],
            ['issued', body.iat !== undefined ? when(body.iat) : undefined],
            ['expires', when(body.exp)],
          ]),
        ].join('\n'));
        return;
      }
      if (answer.status === 401 && typeof body?.reason === 'string') {
        emit(body, `refused: ${describeReason(body.reason)}`);
        resultCode = EXIT.INACTIVE;
        return;
      }
      if (answer.status === 503 && body?.reason === 'unavailable') {
        throw new CliError(`the worker cannot read revocation state (503 unavailable): the token was neither accepted nor refused`, EXIT.SERVER, { status: 503, error: 'unavailable' });
      }
      throw failure(answer, false);
    });

  // ---- revoke -----------------------------------------------------------------------------
  const revoke = program.command('revoke').description('revoke a token, a user, or everything');
  revoke
    .command('token')
    .description('revoke one token: by the token itself (POST /v1/revoke), or by id without it (--jti --sub --exp)')
    .argument('[token]', 'the token (access or refresh), or - to read it from stdin')
    .option('--jti <jti>', 'revoke by id: the token\'s jti')
    .option('--sub <sub>', 'with --jti: its subject')
    .option('--exp <numericDate>', 'with --jti: its exp (seconds since the epoch); the entry is kept until then')
    .option('--iss <issuer>', 'with --jti: its issuer (default: every issuer)')
    .option('--reason <text>', 'with --jti: recorded in the audit log')
    .addOption(new Option('--hint <type>', 'token_type_hint (RFC 7009)').choices(['access_token', 'refresh_token']))
    .action(async (tokenArg, options, command) => {
      const { client } = context(command);
      if (options.jti !== undefined) {
        if (tokenArg !== undefined) throw usageError('give either a token or --jti, not both');
        if (options.sub === undefined || options.exp === undefined) throw usageError('--jti needs --sub and --exp');
        if (!/^\d+$/.test(options.exp)) throw usageError('--exp must be a NumericDate: integer seconds since the epoch');
        /** @type {{ jti: string, sub: string, exp: number, iss?: string, reason?: string }} */
        const payload = { jti: options.jti, sub: options.sub, exp: Number(options.exp) };
        if (options.iss !== undefined) payload.iss = options.iss;
        if (options.reason !== undefined) payload.reason = options.reason;
        const { body } = await client().expectOk('POST', '/v1/admin/tokens/revoke', { auth: 'admin', json: payload });
        return emit(body, `revoked token ${options.jti} of ${options.sub} (${options.iss === undefined ? 'every issuer' : `issuer ${options.iss}`}), remembered until ${when(Number(options.exp))}`);
      }
      for (const flag of ['sub', 'exp', 'iss', 'reason']) {
        if (options[flag] !== undefined) throw usageError(`--${flag} goes with --jti; to revoke by the token, pass only the token`);
      }
      if (tokenArg === undefined) throw usageError('give the token (or - for stdin), or --jti with --sub and --exp');
      const jwt = await tokenArgument(tokenArg);
      const form = { token: jwt, ...(options.hint && { token_type_hint: options.hint }) };
      await client().expectOk('POST', '/v1/revoke', { auth: 'admin', form });
      let about = '';
      try {
        const { decodeJwt } = await import('jose');
        const claims = decodeJwt(jwt);
        about = ` (sub ${claims.sub ?? '?'}${claims.jti ? `, jti ${claims.jti}` : ''})`;
      } catch {
        // an opaque refresh token, or not a JWT: nothing to show
      }
      return emit(
        { ok: true },
        `submitted${about}: if the token was genuine it is refused from now on (RFC 7009 answers 200 for any token; check with \`killswitch verify\`)`,
      );
    });

  revoke
    .command('user')
    .description("revoke every token a user holds now (POST /v1/admin/users/revoke); tokens issued later work")
    .argument('<sub>', 'the user (sub claim), exactly: any sub a token can carry, `..` included')
    .option('--reason <text>', 'recorded in the audit log')
    .action(async (sub, options, command) => {
      const { client } = context(command);
      // The sub travels in the body: a path cannot carry every sub (`.`/`..` are normalized away).
      const { body } = await client().expectOk('POST', '/v1/admin/users/revoke', {
        auth: 'admin',
        json: options.reason === undefined ? { sub } : { sub, reason: options.reason },
      });
      emit(body, `revoked every token of ${body.sub} issued before ${when(body.revokedBefore)}; version is now ${body.version}`);
    });

  revoke
    .command('all')
    .description('revoke every token of every user issued until now (POST /v1/admin/revoke-all)')
    .requiredOption('--reason <text>', 'why (required; recorded in the audit log)')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
      const { client } = context(command);
      const c = client();
      c.requireAdminKey();
      if (!options.yes && stdin.isTTY && stderr.isTTY) {
        const rl = createInterface({ input: stdin, output: stderr });
        const answer = await rl.question(`This refuses EVERY token of EVERY user issued until now, at ${c.url.origin}. Type "revoke all" to go on: `);
        rl.close();
        if (answer.trim() !== 'revoke all') throw usageError('not confirmed; nothing was revoked');
      }
      const { body } = await c.expectOk('POST', '/v1/admin/revoke-all', { auth: 'admin', json: { reason: options.reason } });
      emit(body, `revoked every token issued before ${when(body.revokedBefore)}; tokens issued from ${when(body.revokedBefore + 1).replace(/ \(.*\)$/, '')} on are accepted`);
    });

  // ---- user show --------------------------------------------------------------------------
  const user = program.command('user').description("a user's revocation state");
  user
    .command('show')
    .description("a user's version, revoked-before instant and revoked tokens (POST /v1/admin/users/lookup)")
    .argument('<sub>', 'the user (sub claim), exactly')
    .action(async (sub, _options, command) => {
      const { client } = context(command);
      const { body } = await client().expectOk('POST', '/v1/admin/users/lookup', { auth: 'admin', json: { sub } });
      const tokens = Array.isArray(body.revokedTokens) ? body.revokedTokens : [];
      const lines = [
        `user ${body.sub}`,
        fields([
          ['version', String(body.version)],
          ['revoked before', when(body.revokedBefore)],
          ['revoked tokens', String(tokens.length)],
        ]),
      ];
      if (tokens.length > 0) {
        lines.push('', table(['jti', 'expires', 'revoked', 'reason'], tokens.map((/** @type {WorkerRecord} */ t) => [t.jti, when(t.exp), when(t.revokedAt), t.reason ?? ''])));
      }
      emit(body, lines.join('\n'));
    });

  // ---- audit ------------------------------------------------------------------------------
  program
    .command('audit')
    .description('audit events, newest first (GET /v1/admin/audit); without --sub, the revoke-all events')
    .option('--sub <sub>', "one user's events")
    .option('--limit <n>', 'events per page')
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
      const { client } = context(command);
      if (options.limit !== undefined && !/^\d+$/.test(options.limit)) throw usageError('--limit must be a positive integer');
      const { body } = await client().expectOk('GET', '/v1/admin/audit', {
        auth: 'admin',
        query: { sub: options.sub, limit: options.limit, cursor: options.cursor },
      });
      const events = Array.isArray(body.events) ? body.events : [];
      const lines = [];
      if (events.length === 0) lines.push(options.sub === undefined ? 'no revoke-all events' : `no events for ${options.sub}`);
      else {
        lines.push(table(['at', 'action', 'sub', 'jti', 'actor', 'reason'], events.map((/** @type {WorkerRecord} */ e) => [
          new Date(e.at * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), e.action, e.sub ?? '', e.jti ?? '', e.actor ?? '', e.reason ?? '',
        ])));
      }
      if (body.cursor) {
        const next = ['killswitch audit', options.sub !== undefined && `--sub ${JSON.stringify(options.sub)}`, options.limit && `--limit ${options.limit}`, `--cursor ${body.cursor}`];
        lines.push('', `more: ${next.filter(Boolean).join(' ')}`);
      }
      emit(body, lines.join('\n'));
    });

  // ---- ssf (Shared Signals streams, SPEC §7) --------------------------------------------------
  const ssf = program.command('ssf').description('Shared Signals streams: identity providers push security events that revoke users');
  /** The transmitter's management bearer: only from $KILLSWITCH_TRANSMITTER_TOKEN (never argv). */
  const transmitterToken = (/** @type {boolean} */ required) => {
    const value = env.KILLSWITCH_TRANSMITTER_TOKEN;
    if (required && (value === undefined || value === '')) {
      throw usageError("set KILLSWITCH_TRANSMITTER_TOKEN to the transmitter's management API token (it is sent to the worker for this call only)");
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
    /** @type {Record<string, { issuer: string, claim: 'sub' }>} */
    const table = {};
    for (const pair of options.mapIssSub) {
      const at = pair.lastIndexOf('=');
      if (at <= 0) throw usageError('--map-iss-sub takes <SET subject iss>=<trusted token issuer>');
      table[pair.slice(0, at)] = { issuer: pair.slice(at + 1), claim: 'sub' };
    }
    return { iss_sub: table, email: options.email === true };
  };
  const describeStream = (/** @type {WorkerRecord} */ s) => fields([
    ['mode', s.mode], ['issuer', s.issuer], ['audience', s.audience], ['push endpoint', s.pushEndpoint],
    ['push secret', s.pushSecret ? 'yes' : 'no (signature only)'], ['transmitter stream', s.transmitterStreamId],
    ['poll endpoint', s.poll === undefined ? undefined : `${s.poll.endpoint} (every ${s.poll.intervalSeconds} s, ${s.poll.maxEvents} SETs)`],
  ]);
  const describePoll = (/** @type {WorkerRecord} */ p) => fields([
    ['polling', p.polling ? 'yes' : 'no'], ['failures in a row', p.failures], ['last error', p.lastError ?? undefined],
    ['last poll', p.lastPollAt == null ? undefined : when(p.lastPollAt)], ['acks pending', p.pendingAcks],
    ['next poll', p.nextPollAt == null ? undefined : when(p.nextPollAt)],
  ]);
  const streamOptions = (/** @type {Command} */ command) => command
    .option('--map-iss-sub <iss=issuer...>', 'map SET subjects of this iss to the sub of this trusted token issuer')
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

  ssf
    .command('list')
    .description('every stream: SSF_STREAMS and those created here (GET /v1/admin/ssf/streams)')
    .action(async (_options, command) => {
      const { client } = context(command);
      const { body } = await client().expectOk('GET', '/v1/admin/ssf/streams', { auth: 'admin' });
      const streams = Array.isArray(body.streams) ? body.streams : [];
      emit(body, streams.length === 0 ? 'no streams' : table(['id', 'mode', 'issuer', 'push endpoint'], streams.map((/** @type {WorkerRecord} */ s) => [s.id, s.mode, s.issuer, s.pushEndpoint])));
    });

  streamOptions(ssf
    .command('create')
    .description("create a stream at a transmitter's SSF management API (discovery, issuer check, our push endpoint and a fresh secret); token: $KILLSWITCH_TRANSMITTER_TOKEN")
    .requiredOption('--transmitter <issuer>', "the transmitter's issuer, e.g. https://example.okta.com")
    .option('--event <uri...>', 'event types to ask for (default: every type killswitch acts on)'))
    .action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
      const { client } = context(command);
      const json = { transmitter: options.transmitter, transmitterToken: transmitterToken(true), ...streamBody(options), eventsRequested: options.event };
      const { body } = await client().expectOk('POST', '/v1/admin/ssf/streams', { auth: 'admin', json });
      emit(body, [`created stream ${body.id} at ${body.issuer}`, describeStream(body), '', `next: killswitch ssf verify ${body.id}`].join('\n'));
    });

  streamOptions(ssf
    .command('add')
    .description("register a stream set up by hand at the transmitter (e.g. Google's RISC stream:update); prints its push endpoint and secret once")
    .requiredOption('--issuer <iss>', "the SETs' iss")
    .requiredOption('--jwks-uri <url>', "the transmitter's JWKS")
    .requiredOption('--audience <aud>', 'the aud the transmitter puts in SETs (unique per stream)')
    .option('--no-secret', 'signature only: the transmitter sends no Authorization header (Google)')
    .option('--poll-endpoint <url>', "RFC 8936 poll delivery: the transmitter's poll endpoint; its bearer from $KILLSWITCH_POLL_TOKEN")
    .option('--poll-interval <seconds>', 'with --poll-endpoint: seconds between polls, 1 to 300 (default 10)', Number)
    .option('--poll-max-events <n>', 'with --poll-endpoint: SETs per poll, 1 to 64 (default 16)', Number))
    .action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
      const { client } = context(command);
      /** @type {Record<string, unknown>} */
      const json = { issuer: options.issuer, jwksUri: options.jwksUri, audience: options.audience, pushSecret: options.secret, ...streamBody(options) };
      if (options.pollEndpoint !== undefined) {
        const token = env.KILLSWITCH_POLL_TOKEN;
        if (token === undefined || token === '') throw usageError("set KILLSWITCH_POLL_TOKEN to the transmitter's poll endpoint bearer (kept by the worker, never shown)");
        json.poll = { endpoint: options.pollEndpoint, token, intervalSeconds: options.pollInterval, maxEvents: options.pollMaxEvents };
      }
      const { body } = await client().expectOk('POST', '/v1/admin/ssf/streams', { auth: 'admin', json });
      const lines = [`added stream ${body.id}`, describeStream(body)];
      if (body.secret !== undefined) lines.push('', '# The push secret, shown once: the transmitter sends it as "Authorization: Bearer <secret>".', body.secret);
      emit(body, lines.join('\n'));
    });

  ssf
    .command('show')
    .description("a stream and its status; with $KILLSWITCH_TRANSMITTER_TOKEN also the transmitter's status")
    .argument('<id>', 'the stream id')
    .action(async (id, _options, command) => {
      const { client } = context(command);
      const token = transmitterToken(false);
      const { body } = await client().expectOk('GET', `/v1/admin/ssf/streams/${encodeURIComponent(id)}`, {
        auth: 'admin', headers: token === undefined ? {} : { 'X-Transmitter-Token': token },
      });
      const st = body.status ?? {};
      emit(body, [`stream ${body.id}`, describeStream(body), fields([
        ['verified', st.verifiedAt == null ? (st.verificationPending ? 'pending' : 'never') : when(st.verifiedAt)],
        ['verification problem', st.verificationProblem ?? undefined],
        ['transmitter status', st.transmitterStatus ?? undefined],
        ['last event', st.lastEventAt == null ? undefined : when(st.lastEventAt)],
      ]), ...(st.poll === undefined ? [] : [describePoll(st.poll)])].join('\n'));
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
      const token = transmitterToken(false);
      const { body } = await client().expectOk('POST', `/v1/admin/ssf/streams/${encodeURIComponent(id)}/verify`, {
        auth: 'admin', json: token === undefined ? {} : { transmitterToken: token },
      });
      emit(body, body.requested
        ? `asked the transmitter for a verification event (state ${body.state}); check with: killswitch ssf show ${body.id}`
        : `expecting a verification event with state ${body.state}: give this state to the transmitter (Google: stream:verify)`);
    });

  ssf
    .command('delete')
    .description('delete a stream created here (a managed one at its transmitter first: $KILLSWITCH_TRANSMITTER_TOKEN)')
    .argument('<id>', 'the stream id')
    .action(async (id, _options, command) => {
      const { client } = context(command);
      const token = transmitterToken(false);
      const { body } = await client().expectOk('DELETE', `/v1/admin/ssf/streams/${encodeURIComponent(id)}`, {
        auth: 'admin', json: token === undefined ? {} : { transmitterToken: token },
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
        auth: 'admin', query: { limit: options.limit, cursor: options.cursor },
      });
      const events = Array.isArray(body.events) ? body.events : [];
      const lines = [events.length === 0 ? `no events on ${id}` : table(['at', 'sub', 'set jti', 'what'], events.map((/** @type {WorkerRecord} */ e) => [
        new Date(e.at * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), e.sub ?? '', e.jti ?? '', e.reason ?? '',
      ]))];
      if (body.cursor) lines.push('', `more: killswitch ssf audit ${id} --cursor ${body.cursor}`);
      emit(body, lines.join('\n'));
    });

  try {
    await program.parseAsync(argv);
    return resultCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.OK; // --help, --version
      return EXIT.USAGE;
    }
    if (error instanceof CliError) {
      write(stderr, jsonMode ? JSON.stringify({ ...error.details, message: error.message, exit: error.code }) : `killswitch: ${error.message}`);
      return error.code;
    }
    write(stderr, `killswitch: unexpected error: ${/** @type {Error | undefined} */ (error)?.stack ?? error}`);
    return EXIT.SERVER;
  }
}

