/**
 * The `killswitch` CLI (bin/killswitch.mjs) against a running worker (wrangler dev with
 * dev/demo.env): every command, its exit code, its --json shape and its human output, the
 * errors (no URL, unreachable, wrong key, 400), and that the admin key never reaches stdout or
 * stderr, whatever happens (checked over every run at the end).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.mjs';
import { DEMO_ADMIN_KEY, DEMO_ENV, DEMO_ISSUER, DEMO_KEY_FILE, demoVars, ROOT } from '../helpers/demo';
import { OKTA, OKTA_ISSUER, oktaToken, oktaUser } from '../helpers/okta';

const BIN = join(ROOT, 'bin/killswitch.mjs');
const WRONG_KEY = 'wrong-admin-key-0123456789';
/** Beside the demo issuer: Okta, keyed by `uid`, its users in a namespace of their own. */
const OKTA_NAMESPACE = 'okta';
const TRUSTED_ISSUERS = JSON.stringify([
  ...(JSON.parse(demoVars().TRUSTED_ISSUERS ?? '[]') as unknown[]),
  { ...OKTA_ISSUER, userNamespace: OKTA_NAMESPACE },
]);

let worker: WranglerDev;
let scratch: string;
/** Everything every run printed, checked for the admin keys at the end. */
const transcript: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; the worker and the demo admin key come from the environment unless overridden. */
function cli(args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.KILLSWITCH_URL;
  delete env.KILLSWITCH_ADMIN_KEY;
  Object.assign(env, { KILLSWITCH_URL: worker?.url, KILLSWITCH_ADMIN_KEY: DEMO_ADMIN_KEY }, options.env);
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', fail);
    child.once('close', (code) => {
      transcript.push(stdout, stderr);
      done({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command's --json output has its own shape; tests read fields ad hoc
const json = (run: Run): any => JSON.parse(run.stdout);

/** A demo-issuer token through the CLI itself. */
async function mint(sub: string, ...extra: string[]): Promise<string> {
  const run = await cli(['token', 'mint', '--key', DEMO_KEY_FILE, '--iss', DEMO_ISSUER, '--sub', sub, ...extra]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'killswitch-cli-'));
  worker = await startWranglerDev({
    name: 'killswitch',
    envFile: DEMO_ENV,
    vars: [`TRUSTED_ISSUERS:${TRUSTED_ISSUERS}`],
    timeoutMs: 45_000,
  });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 20_000);

describe.concurrent('killswitch CLI: offline commands', () => {
  it('--help lists the commands and the exit codes; --version prints the version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['keys', 'token', 'verify', 'revoke', 'user', 'audit']) expect(help.stdout).toContain(command);
    expect(help.stdout).toContain('Exit codes');
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it.each(['ES256', 'RS256', 'EdDSA'])(
    'keys generate --alg %s --json: a private JWK with kid and alg, and its public JWKS',
    async (alg) => {
      const run = await cli(['keys', 'generate', '--alg', alg, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const key = json(run);
      expect(key).toMatchObject({ alg, kid: expect.any(String), privateJwk: { alg, kid: key.kid, d: expect.any(String) } });
      expect(key.jwks.keys).toHaveLength(1);
      const [pub] = key.jwks.keys;
      expect(pub).toMatchObject({ alg, kid: key.kid, use: 'sig' });
      expect(pub).not.toHaveProperty('d');
      expect(pub).not.toHaveProperty('p');
    },
  );

  it('keys generate --alg HS256: a random secret of at least 32 bytes, no public JWKS', async () => {
    const [a, b] = await Promise.all([
      cli(['keys', 'generate', '--alg', 'HS256', '--json']),
      cli(['keys', 'generate', '--alg', 'HS256', '--json']),
    ]);
    const key = json(a);
    expect(key).toMatchObject({ alg: 'HS256', jwks: null, privateJwk: { kty: 'oct', alg: 'HS256', kid: key.kid } });
    expect(Buffer.byteLength(key.secret, 'utf8')).toBeGreaterThanOrEqual(32);
    expect(Buffer.from(key.privateJwk.k, 'base64url').toString('utf8')).toBe(key.secret); // hmacSecret = the UTF-8 bytes
    expect(json(b).secret).not.toBe(key.secret);
    const human = await cli(['keys', 'generate', '--alg', 'HS256']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/no public JWKS/);
  });

  it('keys generate (human) prints both halves; --out writes the private JWK with mode 600 and never overwrites', async () => {
    const human = await cli(['keys', 'generate']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Private JWK \(ES256/);
    expect(human.stdout).toMatch(/Public JWKS/);
    const out = join(scratch, 'signing.jwk.json');
    const run = await cli(['keys', 'generate', '--alg', 'EdDSA', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(/"d"/);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ kty: 'OKP', alg: 'EdDSA', d: expect.any(String) });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const again = await cli(['keys', 'generate', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists/);
  });

  it('keys generate --alg XX → exit 2 with the allowed choices', async () => {
    const run = await cli(['keys', 'generate', '--alg', 'XX']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ES256, RS256, EdDSA, HS256/);
  });

  it('token mint: signs with a generated key; the claims and header are as asked', async () => {
    const keyFile = join(scratch, 'mint.jwk.json');
    const generated = await cli(['keys', 'generate', '--alg', 'ES256', '--out', keyFile, '--json']);
    const { jwks, kid } = json(generated);
    const run = await cli([
      'token',
      'mint',
      '--key',
      keyFile,
      '--sub',
      'dave',
      '--iss',
      'https://auth.example.com',
      '--aud',
      'api',
      'web',
      '--ttl',
      '120',
      '--ver',
      '3',
      '--scope',
      'read',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const { token, claims, header } = json(run);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid });
    expect(decodeProtectedHeader(token)).toEqual(header);
    const { payload } = await jwtVerify(token, await importJWK(jwks.keys[0] as JWK, 'ES256'), {
      issuer: 'https://auth.example.com',
      audience: 'web',
    });
    expect(payload).toEqual(claims);
    expect(payload).toMatchObject({ sub: 'dave', aud: ['api', 'web'], ver: 3, scope: 'read', jti: expect.any(String) });
    expect(payload.exp! - payload.iat!).toBe(120);
  });

  it('token mint: the key from stdin (-), an HS256 JWK, --no-jti; and clear usage errors', async () => {
    const hs = json(await cli(['keys', 'generate', '--alg', 'HS256', '--json']));
    const run = await cli(['token', 'mint', '--key', '-', '--sub', 'erin', '--iss', 'legacy', '--no-jti'], {
      input: JSON.stringify(hs.privateJwk),
    });
    expect(run.code, run.stderr).toBe(0);
    const { payload } = await jwtVerify(run.stdout.trim(), new TextEncoder().encode(hs.secret), { issuer: 'legacy', audience: 'api' });
    expect(payload.jti).toBeUndefined();

    const missing = await cli(['token', 'mint', '--key', DEMO_KEY_FILE, '--iss', DEMO_ISSUER]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--sub/);
    const noFile = await cli(['token', 'mint', '--key', join(scratch, 'nope.json'), '--iss', 'x', '--sub', 'x']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/no such file/);
    const pub = json(await cli(['keys', 'generate', '--json'])).jwks.keys[0];
    const publicOnly = await cli(['token', 'mint', '--key', JSON.stringify(pub), '--iss', 'x', '--sub', 'x']);
    expect(publicOnly.code).toBe(2);
    expect(publicOnly.stderr).toMatch(/public key/);
    const badTtl = await cli(['token', 'mint', '--key', DEMO_KEY_FILE, '--iss', 'x', '--sub', 'x', '--ttl', 'soon']);
    expect(badTtl.code).toBe(2);
  });
});

describe('killswitch CLI against wrangler dev', () => {
  it('verify <token>: a demo token is active → exit 0, human and --json', async () => {
    const token = await mint('alice', '--scope', 'read write');
    const human = await cli(['verify', token]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^active: token of alice from https:\/\/demo\.killswitch\.local/);
    expect(human.stdout).toMatch(/scope\s+read write/);
    expect(human.stdout).toMatch(/expires\s+\d{4}-\d\d-\d\dT[\d:]+Z \(in /);
    const asJson = await cli(['verify', token, '--json']);
    expect(asJson.code).toBe(0);
    expect(json(asJson)).toMatchObject({
      active: true,
      sub: 'alice',
      iss: DEMO_ISSUER,
      aud: 'api',
      scope: 'read write',
      jti: expect.any(String),
    });
    const strict = await cli(['verify', '--strict', token, '--json']);
    expect(strict.code).toBe(0);
  });

  it('verify -: the token from stdin (kept out of shell history)', async () => {
    const token = await mint('alice');
    const run = await cli(['verify', '-', '--json'], { input: `${token}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toMatchObject({ active: true, sub: 'alice' });
    const empty = await cli(['verify', '-'], { input: '' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no token/);
  });

  it('verify: a refused token → exit 1 with the reason; needs no admin key', async () => {
    const token = await mint('alice');
    const [h, p, s] = token.split('.') as [string, string, string];
    const tampered = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    const human = await cli(['verify', tampered], { env: { KILLSWITCH_ADMIN_KEY: undefined } });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^refused: bad_signature/);
    const asJson = await cli(['verify', 'not-a-jwt', '--json']);
    expect(asJson.code).toBe(1);
    expect(json(asJson)).toEqual({ active: false, error: 'invalid_token', reason: 'malformed' });
  });

  it('revoke token <token>: RFC 7009; the token is refused right after (revoked_token)', async () => {
    const token = await mint('frank');
    expect((await cli(['verify', token])).code).toBe(0);
    const run = await cli(['revoke', 'token', token]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^submitted \(sub frank, jti [0-9a-f-]{36}\)/);
    const after = await cli(['verify', token, '--json']);
    expect(after.code).toBe(1);
    expect(json(after).reason).toBe('revoked_token');
  });

  it('revoke token - --json: from stdin; {"ok":true}', async () => {
    const token = await mint('frank');
    const run = await cli(['revoke', 'token', '-', '--json'], { input: token });
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toEqual({ ok: true });
    expect((await cli(['verify', token])).code).toBe(1);
  });

  it('revoke token --jti --sub --exp [--iss] [--reason]: by id; user show lists it', async () => {
    const token = await mint('grace');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { jti: string; exp: number };
    const run = await cli([
      'revoke',
      'token',
      '--jti',
      claims.jti,
      '--sub',
      'grace',
      '--exp',
      String(claims.exp),
      '--iss',
      DEMO_ISSUER,
      '--reason',
      'by id',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toEqual({ revoked: true, sub: 'grace', user: 'grace', jti: claims.jti, iss: DEMO_ISSUER, exp: claims.exp });
    expect(json(await cli(['verify', token, '--json'])).reason).toBe('revoked_token');

    const human = await cli(['revoke', 'token', '--jti', 'other-id', '--sub', 'grace', '--exp', String(claims.exp)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^revoked token other-id of grace \(every issuer\)/);

    const shown = json(await cli(['user', 'show', 'grace', '--json']));
    expect(shown.revokedTokens.map((t: { jti: string }) => t.jti).sort()).toEqual([claims.jti, 'other-id'].sort());
  });

  it('revoke token: usage errors (--jti without --sub/--exp, both forms, nothing) → exit 2', async () => {
    for (const args of [
      ['--jti', 'x'],
      ['--jti', 'x', '--sub', 's', '--exp', 'tomorrow'],
      ['tok', '--jti', 'x', '--sub', 's', '--exp', '1'],
      [],
      ['tok', '--sub', 's'],
    ]) {
      const run = await cli(['revoke', 'token', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^killswitch: /);
    }
  });

  it('revoke user <sub> --reason: version bumped; her earlier token → revoked_user; human output', async () => {
    const token = await mint('heidi');
    const run = await cli(['revoke', 'user', 'heidi', '--reason', 'laptop stolen', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const body = json(run);
    expect(body).toEqual({ sub: 'heidi', user: 'heidi', version: 1, revokedBefore: expect.any(Number) });
    expect(json(await cli(['verify', token, '--json'])).reason).toBe('revoked_user');
    const human = await cli(['revoke', 'user', 'heidi']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^revoked every token of heidi issued before \d{4}-.*Z.*; version is now 2$/m);
  });

  it('revoke user / user show take any sub a token can carry: `..`, `.`, `a/../b`, 5,000 characters', async () => {
    for (const sub of ['..', '.', 'a/../b', `long-${'x'.repeat(5_000)}`]) {
      const token = await mint(sub);
      const run = await cli(['revoke', 'user', sub, '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(json(run)).toMatchObject({ sub, version: 1 });
      expect(json(await cli(['verify', token, '--json'])).reason).toBe('revoked_user');
      expect(json(await cli(['user', 'show', sub, '--json']))).toMatchObject({ sub, version: 1 });
    }
  });

  it('user show <sub>: --json shape and a human summary', async () => {
    const asJson = await cli(['user', 'show', 'heidi', '--json']);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(json(asJson)).toMatchObject({ sub: 'heidi', version: 2, revokedBefore: expect.any(Number), revokedTokens: [] });
    const human = await cli(['user', 'show', 'nobody-yet']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^user nobody-yet\n\s+version\s+0\n\s+revoked before\s+never\n\s+revoked tokens\s+0/);
  });

  it('an Okta user (uid, namespace okta): verify prints the user id; revoke user / user show / revoke token / audit take --namespace', async () => {
    const user = oktaUser();
    const token = await oktaToken(user);
    // The same strings as ids of the shared namespace: a revocation keyed on the sub, or in the
    // wrong namespace, would refuse these.
    const [sameLogin, sameUid] = await Promise.all([mint(user.login), mint(user.uid)]);
    const active = await cli(['verify', token]);
    expect(active.code, active.stderr).toBe(0);
    expect(active.stdout.split('\n')[0]).toBe(`active: token of ${user.uid} from ${OKTA}`);
    expect(active.stdout.split('\n')[1]).toMatch(new RegExp(`^\\s+sub\\s+${user.login.replace(/\./g, '\\.')}$`));

    const run = await cli(['revoke', 'user', user.uid, '--namespace', OKTA_NAMESPACE, '--reason', 'phished', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toEqual({ sub: user.uid, user: user.uid, namespace: OKTA_NAMESPACE, version: 1, revokedBefore: expect.any(Number) });
    expect(json(await cli(['verify', token, '--json'])).reason).toBe('revoked_user');
    for (const other of [sameLogin, sameUid]) expect((await cli(['verify', other])).code).toBe(0);

    const human = await cli(['revoke', 'user', user.uid, '--namespace', OKTA_NAMESPACE]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(
      new RegExp(`^revoked every token of ${user.uid} \\(namespace okta\\) issued before .*; version is now 2$`, 'm'),
    );

    const exp = Math.floor(Date.now() / 1000) + 600;
    const byId = await cli(['revoke', 'token', '--jti', 'okta-1', '--sub', user.uid, '--namespace', OKTA_NAMESPACE, '--exp', String(exp)]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toMatch(new RegExp(`^revoked token okta-1 of ${user.uid} \\(namespace okta\\) \\(every issuer\\)`));

    const shown = await cli(['user', 'show', user.uid, '--namespace', OKTA_NAMESPACE]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^user ${user.uid} \\(namespace okta\\)\n\\s+version\\s+2\n[^]*okta-1`));
    expect(json(await cli(['user', 'show', user.uid, '--json']))).toMatchObject({ user: user.uid, version: 0, revokedTokens: [] });
    expect(json(await cli(['user', 'show', user.login, '--namespace', OKTA_NAMESPACE, '--json']))).toMatchObject({ version: 0 });

    const trail = json(await cli(['audit', '--sub', user.uid, '--namespace', OKTA_NAMESPACE, '--json']));
    expect(trail.events.map((e: { action: string }) => e.action)).toEqual(['revoke_token', 'revoke_user', 'revoke_user']);
    expect((await cli(['audit', '--sub', user.uid])).stdout.trim()).toBe(`no events for ${user.uid}`);

    const unknown = await cli(['revoke', 'user', user.uid, '--namespace', 'nope']);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toMatch(/userNamespace of a trusted issuer/);
  });

  it('audit --sub [--limit] [--cursor]: newest first, paged; human table', async () => {
    const all = json(await cli(['audit', '--sub', 'heidi', '--json']));
    expect(all.events).toHaveLength(2);
    expect(all.events[0]).toMatchObject({ action: 'revoke_user', sub: 'heidi', actor: expect.stringMatching(/^admin:[0-9a-f]{12}$/) });
    expect(all.events[1]).toMatchObject({ reason: 'laptop stolen' });
    const first = await cli(['audit', '--sub', 'heidi', '--limit', '1', '--json']);
    const page1 = json(first);
    expect(page1.events).toHaveLength(1);
    expect(page1.cursor).toEqual(expect.any(String));
    const page2 = json(await cli(['audit', '--sub', 'heidi', '--limit', '1', '--cursor', page1.cursor, '--json']));
    expect(page2.events).toEqual([all.events[1]]);

    const human = await cli(['audit', '--sub', 'heidi', '--limit', '1']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^at\s+action\s+user\s+jti\s+actor\s+reason\n\S+Z\s+revoke_user\s+heidi\s+admin:/);
    expect(human.stdout).toMatch(/more: killswitch audit --sub "heidi" --limit 1 --cursor \S+/);
    const none = await cli(['audit', '--sub', 'nobody-at-all']);
    expect(none.stdout.trim()).toBe('no events for nobody-at-all');
  });

  it('ssf add / list / show / verify / audit / delete / poll: a pushed security event revokes the user', async () => {
    // A transmitter: an RS256 key, its JWKS on a loopback server the worker fetches.
    const { generateKeyPair, exportJWK, SignJWT } = await import('jose');
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }] });
    const pollAuth: (string | undefined)[] = [];
    const server = createHttpServer((req, res) => {
      if (req.url === '/poll') pollAuth.push(req.headers.authorization); // an RFC 8936 transmitter with nothing to deliver
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/poll' ? '{"sets":{},"moreAvailable":false}' : jwks);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const jwksUri = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
      const pollUri = jwksUri.replace(/\/jwks$/, '/poll');
      /** `ssf add` of a manual stream of the test transmitter. */
      const ssfAdd = (audience: string, ...more: string[]) => [
        'ssf',
        'add',
        '--issuer',
        'https://idp.demo',
        '--jwks-uri',
        jwksUri,
        '--audience',
        audience,
        ...more,
        '--json',
      ];
      const added = await cli(ssfAdd('killswitch-cli-test', '--map-iss-sub', `https://idp.demo=${DEMO_ISSUER}`));
      expect(added.code, added.stderr).toBe(0);
      const stream = json(added);
      expect(stream).toMatchObject({
        mode: 'manual',
        pushSecret: true,
        secret: expect.any(String),
        pushEndpoint: `${worker.url}/v1/ssf/${stream.id}/events`,
      });
      const human = await cli(['ssf', 'list']);
      expect(human.stdout).toContain(stream.id);

      const token = await mint('olga');
      const set = await new SignJWT({
        sub_id: { format: 'iss_sub', iss: 'https://idp.demo', sub: 'olga' },
        events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { event_timestamp: Date.now() } },
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'idp-1', typ: 'secevent+jwt' })
        .setIssuer('https://idp.demo')
        .setAudience('killswitch-cli-test')
        .setIssuedAt()
        .setJti(crypto.randomUUID())
        .sign(privateKey);
      const pushed = await fetch(stream.pushEndpoint, {
        method: 'POST',
        headers: { Authorization: `Bearer ${stream.secret}`, 'Content-Type': 'application/secevent+jwt' },
        body: set,
      });
      expect(pushed.status).toBe(202);
      expect(json(await cli(['verify', token, '--json'])).reason).toBe('revoked_user');

      const verify = await cli(['ssf', 'verify', stream.id]);
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^expecting a verification event with state [A-Za-z0-9_-]{22}: give this state to the transmitter/);
      const show = await cli(['ssf', 'show', stream.id]);
      expect(show.stdout).toMatch(/verified\s+pending/);
      const audit = await cli(['ssf', 'audit', stream.id]);
      expect(audit.stdout).toMatch(/olga .*session-revoked iss_sub https:\/\/idp\.demo olga: revoked tokens issued before \d+/);
      const noToken = await cli(['ssf', 'create', '--transmitter', 'https://idp.demo']);
      expect(noToken.code).toBe(2);
      expect(noToken.stderr).toContain('KILLSWITCH_TRANSMITTER_TOKEN');
      expect((await cli(['ssf', 'delete', stream.id])).stdout.trim()).toBe(`deleted stream ${stream.id}`);
      expect((await cli(['ssf', 'show', stream.id])).code).toBe(5);

      // Poll delivery: the bearer only from $KILLSWITCH_POLL_TOKEN, sent to the transmitter, never shown.
      const pollArgs = ssfAdd('killswitch-cli-poll', '--no-secret', '--poll-endpoint', pollUri, '--poll-interval', '60');
      const noPollToken = await cli(pollArgs);
      expect(noPollToken.code).toBe(2);
      expect(noPollToken.stderr).toContain('KILLSWITCH_POLL_TOKEN');
      const polledAdd = await cli(pollArgs, { env: { KILLSWITCH_POLL_TOKEN: 'cli-poll-bearer' } });
      expect(polledAdd.code, polledAdd.stderr).toBe(0);
      const polled = json(polledAdd);
      expect(polled.poll).toEqual({ endpoint: pollUri, maxEvents: 16, intervalSeconds: 60 });
      expect(polledAdd.stdout).not.toContain('cli-poll-bearer');
      const pollNow = await cli(['ssf', 'poll', polled.id]);
      expect(pollNow.code, pollNow.stderr).toBe(0);
      expect(pollNow.stdout).toMatch(/polling\s+yes/);
      expect(pollNow.stdout).toMatch(/failures in a row\s+0/);
      expect(pollAuth).toContain('Bearer cli-poll-bearer');
      expect((await cli(['ssf', 'delete', polled.id])).code).toBe(0);
    } finally {
      server.close();
    }
  });

  it('revoke all: --reason is required; then every earlier token → revoked_all, and audit lists it', async () => {
    const noReason = await cli(['revoke', 'all']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);

    const token = await mint('ivan');
    const run = await cli(['revoke', 'all', '--reason', 'signing key leaked', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toEqual({ revokedBefore: expect.any(Number) });
    expect(json(await cli(['verify', token, '--json'])).reason).toBe('revoked_all');

    const human = await cli(['revoke', 'all', '--reason', 'again']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^revoked every token issued before .*; tokens issued from \S+Z on are accepted$/m);
    const audit = json(await cli(['audit', '--json']));
    expect(audit.events[0]).toMatchObject({ action: 'revoke_all', reason: 'again' });
    expect(audit.events[1]).toMatchObject({ action: 'revoke_all', reason: 'signing key leaked' });
  });
});

/** A stand-in worker on a free port: answers each request with the next of `answers` (the last one repeats). */
async function scriptedServer(answers: { status: number; headers?: Record<string, string>; body?: unknown }[]) {
  const { createServer: createHttpServer } = await import('node:http');
  const seen: { method: string; url: string; at: number }[] = [];
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', at: Date.now() });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, seen, close: () => new Promise((r) => server.close(r)) };
}

describe.concurrent('killswitch CLI: retries (503, 429, a failed connection)', () => {
  const UNAVAILABLE = { status: 503, body: { error: 'temporarily_unavailable' } };
  const REVOKED = { status: 200, body: { sub: 'ivan', version: 1, revokedBefore: 1_700_000_000 } };

  it('503, 503 (Retry-After: 0), then 200: the revocation goes through on the third try; --verbose says so', async () => {
    const server = await scriptedServer([UNAVAILABLE, { ...UNAVAILABLE, headers: { 'Retry-After': '0' } }, REVOKED]);
    try {
      const run = await cli(['-v', 'revoke', 'user', 'ivan', '--json'], { env: { KILLSWITCH_URL: server.url } });
      expect(run.code, run.stderr).toBe(0);
      expect(json(run)).toEqual(REVOKED.body);
      expect(server.seen.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill('POST /v1/admin/users/revoke'));
      expect(run.stderr.match(/↻ 503: trying again in \d+ ms/g)).toHaveLength(2);
      expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(100); // backoff: 125–250 ms
    } finally {
      await server.close();
    }
  });

  it('429 then 200 goes through; 503 every time gives up after 1 + --retries tries with exit 6', async () => {
    const limited = await scriptedServer([{ status: 429, body: { error: 'rate_limited' } }, REVOKED]);
    const down = await scriptedServer([UNAVAILABLE]);
    try {
      expect((await cli(['revoke', 'user', 'ivan'], { env: { KILLSWITCH_URL: limited.url } })).code).toBe(0);
      expect(limited.seen).toHaveLength(2);
      const run = await cli(['--retries', '2', 'revoke', 'user', 'ivan'], { env: { KILLSWITCH_URL: down.url } });
      expect(run.code).toBe(6);
      expect(run.stderr).toMatch(/the worker failed \(503 temporarily_unavailable\)/);
      expect(down.seen).toHaveLength(3);
      const none = await cli(['--retries', '0', 'user', 'show', 'ivan'], { env: { KILLSWITCH_URL: down.url } });
      expect(none.code).toBe(6);
      expect(down.seen).toHaveLength(4);
    } finally {
      await limited.close();
      await down.close();
    }
  });

  it('a refused connection is tried 1 + 3 times with growing delays, then exit 3; a 400 is never retried', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const run = await cli(['-v', 'revoke', 'user', 'ivan'], { env: { KILLSWITCH_URL: url } });
    expect(run.code).toBe(3);
    expect(run.stderr.match(/↻ connection refused \(ECONNREFUSED\): trying again/g)).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(125 + 250 + 500); // at least half of each backoff step
    const bad = await scriptedServer([{ status: 400, body: { error: 'invalid_request', error_description: '"sub" is required' } }]);
    try {
      expect((await cli(['revoke', 'user', 'ivan'], { env: { KILLSWITCH_URL: bad.url } })).code).toBe(5);
      expect(bad.seen).toHaveLength(1);
    } finally {
      await bad.close();
    }
  });

  it('--retries must be an integer from 0 to 10', async () => {
    for (const value of ['-1', '11', 'x', '1.5']) expect((await cli(['--retries', value, 'user', 'show', 'a'])).code).toBe(2);
  });
});

describe.concurrent('killswitch CLI: errors', () => {
  it('no URL → exit 2, saying how to set it', async () => {
    const run = await cli(['user', 'show', 'alice'], { env: { KILLSWITCH_URL: undefined } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no worker URL: set KILLSWITCH_URL or pass --url/);
    const bad = await cli(['--url', 'not a url', 'verify', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a URL/);
  });

  it('an unreachable worker → exit 3, naming the worker and the cause (human and --json)', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await cli(['user', 'show', 'alice'], { env: { KILLSWITCH_URL: url } });
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toBe(`killswitch: cannot reach the worker at ${url}: connection refused (ECONNREFUSED)`);
    const asJson = await cli(['--url', url, 'verify', 'x', '--json']);
    expect(asJson.code).toBe(3);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: 'unreachable', exit: 3, message: expect.stringContaining(url) });
    expect(asJson.stdout).toBe('');
  });

  it('a wrong admin key → exit 4 and the same clear message, from the variable or the flag, with or without --verbose', async () => {
    const fromEnv = await cli(['revoke', 'user', 'alice'], { env: { KILLSWITCH_ADMIN_KEY: WRONG_KEY } });
    expect(fromEnv.code).toBe(4);
    expect(fromEnv.stderr).toMatch(/refused the admin key \(401 unauthorized\): check KILLSWITCH_ADMIN_KEY or --admin-key/);
    const fromFlag = await cli(['-v', 'user', 'show', 'alice', '--admin-key', WRONG_KEY]);
    expect(fromFlag.code).toBe(4);
    expect(fromFlag.stderr).toMatch(/→ POST http:\/\/127\.0\.0\.1:\d+\/v1\/admin\/users\/lookup \(admin key from --admin-key\)/);
    expect(fromFlag.stderr).toMatch(/← 401/);
    const asJson = await cli(['audit', `--admin-key=${WRONG_KEY}`, '--json', '--verbose']);
    expect(asJson.code).toBe(4);
    expect(asJson.stderr).toContain('"status":401');
    const good = await cli(['-v', 'user', 'show', 'alice']);
    expect(good.code).toBe(0);
    expect(good.stderr).toMatch(/admin key from KILLSWITCH_ADMIN_KEY/);
  });

  it('no admin key for an admin command → exit 2 before any request', async () => {
    const run = await cli(['-v', 'revoke', 'user', 'alice'], { env: { KILLSWITCH_ADMIN_KEY: undefined } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no admin key: set KILLSWITCH_ADMIN_KEY/);
    expect(run.stderr).not.toMatch(/→/);
  });

  it("a 400 → exit 5 with the worker's error_description", async () => {
    const run = await cli(['audit', '--cursor', 'not-a-cursor']);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^killswitch: the worker refused the request \(400 invalid_request\): "cursor"/);
    const asJson = await cli(['revoke', 'token', '--jti', '', '--sub', 's', '--exp', '1', '--json']);
    expect(asJson.code).toBe(5);
    expect(JSON.parse(asJson.stderr)).toMatchObject({
      status: 400,
      error: 'invalid_request',
      error_description: expect.stringContaining('jti'),
      exit: 5,
    });
  });

  it('an unknown command or option → exit 2', async () => {
    expect((await cli(['bogus'])).code).toBe(2);
    expect((await cli(['verify', 'x', '--bogus'])).code).toBe(2);
    expect((await cli(['revoke'])).code).toBe(2);
  });
});

describe('killswitch CLI: the admin key', () => {
  it('the admin keys (right and wrong) never appeared in any stdout or stderr of this file', () => {
    expect(transcript.length).toBeGreaterThan(40);
    for (const text of transcript) {
      expect(text).not.toContain(DEMO_ADMIN_KEY);
      expect(text).not.toContain(WRONG_KEY);
    }
  });
});
