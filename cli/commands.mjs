// @ts-check
/** The CLI's commands other than `ssf` (ssf-commands.mjs): keys, token, verify, revoke, user, audit. */
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Option } from 'commander';
import { failure } from './client.mjs';
import { CliError, EXIT, usageError } from './errors.mjs';
import { describeReason, fields, table, userName, when } from './format.mjs';

/** @import { Command } from 'commander' */
/** @import { Cli, Options, WorkerRecord } from './session.mjs' */

// jose is loaded only by the commands that need it: the CLI starts faster without it.
const KEY_ALGORITHMS = ['ES256', 'RS256', 'EdDSA', 'HS256'];
const keyTools = () => import('./keys.mjs');

/** --namespace of the commands that name a user: an issuer's userNamespace (docs/reference.md §4.1). */
const NAMESPACE_HELP = "the user's namespace (an issuer's userNamespace in TRUSTED_ISSUERS; default: the shared one)";

/**
 * Signing keys (offline): keys generate.
 * @param {Command} program
 * @param {Cli} cli
 */
export function addKeyCommands(program, cli) {
  const { context, emit } = cli;
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
          throw usageError(`cannot write ${options.out}: ${code === 'EEXIST' ? 'it exists (not overwritten)' : (code ?? message)}`);
        }
        const { privateJwk: _private, secret: _secret, ...shown } = key;
        if (cli.jsonMode) return emit({ ...shown, privateJwkFile: options.out });
        return emit(
          null,
          key.jwks === null
            ? `# HS256 secret written to ${options.out} as a private JWK (kid ${key.kid}); symmetric: no public JWKS.`
            : `# Private JWK written to ${options.out} (kid ${key.kid}). Public JWKS:\n${JSON.stringify(key.jwks)}`,
        );
      }
      if (cli.jsonMode) return emit(key);
      if (key.alg === 'HS256') {
        return emit(
          null,
          [
            `# HS256 secret (kid ${key.kid}): keep it secret. Store it with`,
            `#   npx wrangler secret put MY_HMAC_SECRET     and name it in TRUSTED_ISSUERS: "hmacSecret":"MY_HMAC_SECRET"`,
            key.secret,
            '',
            '# The same secret as a private JWK (for `killswitch token mint --key`): keep it secret.',
            JSON.stringify(key.privateJwk),
            '',
            '# HS256 is symmetric: there is no public JWKS to publish.',
          ].join('\n'),
        );
      }
      return emit(
        null,
        [
          `# Private JWK (${key.alg}, kid ${key.kid}): keep it secret. For killswitch's own token service:`,
          `#   echo '[<this JWK>]' | npx wrangler secret put TOKEN_SIGNING_KEYS`,
          JSON.stringify(key.privateJwk),
          '',
          '# Public JWKS: safe to publish; put it in TRUSTED_ISSUERS as "jwks" (or serve it at a jwksUri).',
          JSON.stringify(key.jwks),
        ].join('\n'),
      );
    });
}

/**
 * Token mint (offline, for development and tests).
 * @param {Command} program
 * @param {Cli} cli
 */
export function addTokenCommands(program, cli) {
  const { context, emit, readStdin } = cli;
  const token = program.command('token').description('tokens for development and testing (offline)');
  token
    .command('mint')
    .description('sign a JWT with a private JWK (development and testing only)')
    .requiredOption(
      '--key <file|json|->',
      'the private JWK: a file, inline JSON, or - for stdin (also a JWKS or a TOKEN_SIGNING_KEYS array: the first key)',
    )
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
}

/**
 * Verify: is this token active right now?.
 * @param {Command} program
 * @param {Cli} cli
 */
export function addVerifyCommand(program, cli) {
  const { context, emit, tokenArgument } = cli;
  program
    .command('verify')
    .description('ask the worker whether a token is active now (GET /v1/verify); exit 0 active, 1 refused')
    .argument('<token>', 'the token, or - to read it from stdin')
    .option('--strict', 'read the Durable Objects instead of KV (?strict=1, sent with the admin key)')
    .action(async (tokenArg, options, command) => {
      const { client } = context(command);
      const jwt = await tokenArgument(tokenArg);
      const answer = await client().request('GET', '/v1/verify', {
        auth: { bearer: jwt },
        query: { strict: options.strict ? '1' : undefined },
        // Without PUBLIC_STRICT the worker takes ?strict=1 only from an operator.
        headers: options.strict ? { 'Killswitch-Admin-Key': client().requireAdminKey() } : undefined,
      });
      const body = answer.body;
      if (answer.status === 200 && body?.active === true) {
        // The user id revocations name (the issuer's userClaim), which the body's claims cannot tell.
        const user = answer.headers.get('x-auth-user') ?? body.sub;
        emit(
          body,
          [
            `active: token of ${user} from ${body.iss}`,
            fields([
              ['sub', user === body.sub ? undefined : body.sub],
              ['jti', body.jti],
              ['audience', Array.isArray(body.aud) ? body.aud.join(' ') : body.aud],
              ['scope', body.scope],
              ['issued', body.iat !== undefined ? when(body.iat) : undefined],
              ['expires', when(body.exp)],
            ]),
          ].join('\n'),
        );
        return;
      }
      if (answer.status === 401 && typeof body?.reason === 'string') {
        emit(body, `refused: ${describeReason(body.reason)}`);
        cli.resultCode = EXIT.INACTIVE;
        return;
      }
      if (answer.status === 503 && body?.reason === 'unavailable') {
        throw new CliError(
          `the worker cannot read revocation state (503 unavailable): the token was neither accepted nor refused`,
          EXIT.SERVER,
          { status: 503, error: 'unavailable' },
        );
      }
      throw failure(answer, false);
    });
}

/**
 * Revoke token / user / all.
 * @param {Command} program
 * @param {Cli} cli
 */
export function addRevokeCommands(program, cli) {
  const { context, emit, tokenArgument, stdin, stderr } = cli;
  const revoke = program.command('revoke').description('revoke a token, a user, or everything');
  revoke
    .command('token')
    .description('revoke one token: by the token itself (POST /v1/revoke), or by id without it (--jti --sub --exp)')
    .argument('[token]', 'the token (access or refresh), or - to read it from stdin')
    .option('--jti <jti>', "revoke by id: the token's jti")
    .option('--sub <user>', "with --jti: its user id (the issuer's userClaim, sub by default)")
    .option('--namespace <name>', `with --jti: ${NAMESPACE_HELP}`)
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
        const { body } = await client().expectOk('POST', '/v1/admin/tokens/revoke', {
          auth: 'admin',
          query: { namespace: options.namespace },
          json: payload,
        });
        return emit(
          body,
          `revoked token ${options.jti} of ${userName(body)} (${options.iss === undefined ? 'every issuer' : `issuer ${options.iss}`}), remembered until ${when(Number(options.exp))}`,
        );
      }
      for (const flag of ['sub', 'exp', 'iss', 'reason', 'namespace']) {
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
    .description('revoke every token a user holds now (POST /v1/admin/users/revoke); tokens issued later work')
    .argument('<user>', "the user id (the issuer's userClaim, sub by default), exactly: any id a token can carry, `..` included")
    .option('--namespace <name>', NAMESPACE_HELP)
    .option('--reason <text>', 'recorded in the audit log')
    .action(async (sub, options, command) => {
      const { client } = context(command);
      // The id travels in the body: a path cannot carry every id (`.`/`..` are normalized away).
      const { body } = await client().expectOk('POST', '/v1/admin/users/revoke', {
        auth: 'admin',
        query: { namespace: options.namespace },
        json: options.reason === undefined ? { sub } : { sub, reason: options.reason },
      });
      emit(body, `revoked every token of ${userName(body)} issued before ${when(body.revokedBefore)}; version is now ${body.version}`);
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
        const answer = await rl.question(
          `This refuses EVERY token of EVERY user issued until now, at ${c.url.origin}. Type "revoke all" to go on: `,
        );
        rl.close();
        if (answer.trim() !== 'revoke all') throw usageError('not confirmed; nothing was revoked');
      }
      const { body } = await c.expectOk('POST', '/v1/admin/revoke-all', { auth: 'admin', json: { reason: options.reason } });
      emit(
        body,
        `revoked every token issued before ${when(body.revokedBefore)}; tokens issued from ${when(body.revokedBefore + 1).replace(/ \(.*\)$/, '')} on are accepted`,
      );
    });
}

/**
 * User show: a user's revocation state.
 * @param {Command} program
 * @param {Cli} cli
 */
export function addUserCommands(program, cli) {
  const { context, emit } = cli;
  const user = program.command('user').description("a user's revocation state");
  user
    .command('show')
    .description("a user's version, revoked-before instant and revoked tokens (POST /v1/admin/users/lookup)")
    .argument('<user>', "the user id (the issuer's userClaim, sub by default), exactly")
    .option('--namespace <name>', NAMESPACE_HELP)
    .action(async (sub, options, command) => {
      const { client } = context(command);
      const { body } = await client().expectOk('POST', '/v1/admin/users/lookup', {
        auth: 'admin',
        query: { namespace: options.namespace },
        json: { sub },
      });
      const tokens = Array.isArray(body.revokedTokens) ? body.revokedTokens : [];
      const lines = [
        `user ${userName(body)}`,
        fields([
          ['version', String(body.version)],
          ['revoked before', when(body.revokedBefore)],
          ['revoked tokens', String(tokens.length)],
        ]),
      ];
      if (tokens.length > 0) {
        lines.push(
          '',
          table(
            ['jti', 'expires', 'revoked', 'reason'],
            tokens.map((/** @type {WorkerRecord} */ t) => [t.jti, when(t.exp), when(t.revokedAt), t.reason ?? '']),
          ),
        );
      }
      emit(body, lines.join('\n'));
    });
}

/**
 * Audit: the revocation audit log.
 * @param {Command} program
 * @param {Cli} cli
 */
export function addAuditCommand(program, cli) {
  const { context, emit } = cli;
  program
    .command('audit')
    .description('audit events, newest first (GET /v1/admin/audit); without --sub, the revoke-all events')
    .option('--sub <user>', "one user's events, by user id (the issuer's userClaim, sub by default)")
    .option('--namespace <name>', `with --sub: ${NAMESPACE_HELP}`)
    .option('--limit <n>', 'events per page')
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .action(async (/** @type {Options} */ options, /** @type {Command} */ command) => {
      const { client } = context(command);
      if (options.limit !== undefined && !/^\d+$/.test(options.limit)) throw usageError('--limit must be a positive integer');
      const { body } = await client().expectOk('GET', '/v1/admin/audit', {
        auth: 'admin',
        query: { sub: options.sub, namespace: options.namespace, limit: options.limit, cursor: options.cursor },
      });
      const events = Array.isArray(body.events) ? body.events : [];
      const lines = [];
      if (events.length === 0) lines.push(options.sub === undefined ? 'no revoke-all events' : `no events for ${options.sub}`);
      else {
        lines.push(
          table(
            ['at', 'action', 'user', 'jti', 'actor', 'reason'],
            events.map((/** @type {WorkerRecord} */ e) => [
              new Date(e.at * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
              e.action,
              e.sub ?? '',
              e.jti ?? '',
              e.actor ?? '',
              e.reason ?? '',
            ]),
          ),
        );
      }
      if (body.cursor) {
        const next = [
          'killswitch audit',
          options.sub !== undefined && `--sub ${JSON.stringify(options.sub)}`,
          options.namespace !== undefined && `--namespace ${options.namespace}`,
          options.limit && `--limit ${options.limit}`,
          `--cursor ${body.cursor}`,
        ];
        lines.push('', `more: ${next.filter(Boolean).join(' ')}`);
      }
      emit(body, lines.join('\n'));
    });
}
