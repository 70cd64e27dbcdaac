/**
 * GET /openapi.json: an OpenAPI 3.1 document covering every route of docs/reference.md, whose request
 * schemas are the very schemas the routes validate with, and whose response schemas hold for
 * real answers: each request below (success and error cases of every route) must answer a
 * status the document lists for that operation, with its required headers, and a body valid
 * against the documented schema (checked with @cfworker/json-schema, in workerd).
 * Revoke-all really runs once, last: storage is per test file.
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { Validator, type Schema } from '@cfworker/json-schema';
import * as z from 'zod/mini';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { buildDocument, openApiJson } from '../src/openapi/document';
import { userObjectName } from '../src/revocation/storage-keys';
import * as requestSchemas from '../src/routes/schemas';
import { boundedEnv, cutFeedFrom } from './helpers/bounded';
import type { Switch } from './helpers/faults';
import { ADMIN_KEY, FEED_KEY, KEYS, SSF } from './helpers/fixtures';
import { jwksBase } from './helpers/jwks-server';
import { CAEP, push, signSet, worker } from './helpers/ssf';
import { mint, now } from './helpers/tokens';

const BASE = 'http://ks.test';
type Json = Record<string, unknown>;
type Operation = { security?: Json[]; parameters?: Json[]; requestBody?: Json; responses: Record<string, Json> };

/** Every route of reference §3.1, §4.2, §4.3, §5, §6 (and this document and the stats), as the document names them. */
const VERIFY_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
type Auth = 'admin' | 'bearer' | 'public' | 'push' | 'feed';
const SPEC_ROUTES: [method: string, path: string, auth: Auth][] = [
  ['get', '/healthz', 'public'],
  ['get', '/openapi.json', 'public'],
  ...VERIFY_METHODS.map((m) => [m, '/v1/verify', 'bearer'] as [string, string, 'bearer']),
  ...VERIFY_METHODS.map((m) => [m, '/v1/verify/{path}', 'bearer'] as [string, string, 'bearer']),
  ['post', '/v1/revoke', 'admin'],
  ['post', '/v1/logout', 'bearer'],
  ['post', '/v1/introspect', 'admin'],
  ['post', '/v1/admin/users/revoke', 'admin'],
  ['post', '/v1/admin/users/lookup', 'admin'],
  ['post', '/v1/admin/users/{sub}/revoke', 'admin'],
  ['get', '/v1/admin/users/{sub}', 'admin'],
  ['post', '/v1/admin/tokens/revoke', 'admin'],
  ['post', '/v1/admin/revoke-all', 'admin'],
  ['get', '/v1/admin/audit', 'admin'],
  ['get', '/v1/admin/stats', 'admin'],
  ['post', '/v1/ssf/{id}/events', 'push'],
  ['get', '/v1/admin/ssf/streams', 'admin'],
  ['post', '/v1/admin/ssf/streams', 'admin'],
  ['get', '/v1/admin/ssf/streams/{id}', 'admin'],
  ['delete', '/v1/admin/ssf/streams/{id}', 'admin'],
  ['post', '/v1/admin/ssf/streams/{id}/verify', 'admin'],
  ['post', '/v1/admin/ssf/streams/{id}/poll', 'admin'],
  ['get', '/v1/admin/ssf/streams/{id}/audit', 'admin'],
  ['post', '/v1/sessions', 'admin'],
  ['post', '/v1/token', 'public'],
  ['get', '/.well-known/jwks.json', 'public'],
  ['get', '/.well-known/oauth-authorization-server', 'public'],
  ['get', '/v1/feed', 'feed'],
  ['get', '/v1/feed/snapshot', 'feed'],
];

let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, Json>> };

/** The first build in this isolate (zod's JSON Schema rendering warms up on it), then a warm one. */
const buildMs: number[] = [];

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const started = performance.now();
    buildDocument();
    buildMs.push(performance.now() - started);
  }
  const res = await exports.default.fetch(`${BASE}/openapi.json`);
  expect(res.status).toBe(200);
  doc = await res.json();
});

/** `#/components/kind/name` → the object. */
function resolve<T = Json>(value: Json): T {
  const ref = value.$ref;
  if (typeof ref !== 'string') return value as T;
  const [, kind, name] = /^#\/components\/(\w+)\/(.+)$/.exec(ref) ?? [];
  const target = doc.components[kind!]?.[name!];
  if (target === undefined) throw new Error(`unresolved ${ref}`);
  return target as T;
}

const validators = new Map<Json, Validator>();
/** A validator for one schema of the document; its $refs resolve within the document. */
function validatorFor(schema: Json): Validator {
  let validator = validators.get(schema);
  if (validator === undefined) {
    validator = new Validator({ ...schema, components: doc.components } as unknown as Schema, '2020-12', false);
    validators.set(schema, validator);
  }
  return validator;
}

function expectValid(schema: Json, instance: unknown, what: string): void {
  const result = validatorFor(schema).validate(instance);
  expect(result.valid, `${what}: ${JSON.stringify(result.errors.slice(0, 4))}\n${JSON.stringify(instance)}`).toBe(true);
}

/** How many answers were checked against the document, by operation and status. */
const checked = new Set<string>();

/** The answer is documented for this operation: its status, required headers, and body. */
async function expectDocumented(res: Response, method: string, path: string): Promise<void> {
  const operation = doc.paths[path]?.[method];
  expect(operation, `${method} ${path} in the document`).toBeDefined();
  const documented = operation!.responses[String(res.status)];
  expect(documented, `${method.toUpperCase()} ${path} → ${res.status} is documented`).toBeDefined();
  const response = resolve<{ headers?: Record<string, Json>; content?: Record<string, { schema: Json }> }>(documented!);
  for (const [name, reference] of Object.entries(response.headers ?? {})) {
    const header = resolve<{ required?: boolean; schema: Json }>(reference);
    const value = res.headers.get(name);
    if (header.required === true) expect(value, `${method} ${path} ${res.status}: header ${name}`).not.toBeNull();
    if (value !== null) expectValid(header.schema, value, `${method} ${path} ${res.status} header ${name}`);
  }
  const text = await res.text();
  const media = response.content?.['application/json'];
  if (response.content?.['application/octet-stream'] !== undefined) {
    // GET /v1/feed/snapshot once the feed wrote one (its primary's heartbeat does, a minute at most after a change).
    expect(res.headers.get('Content-Type')).toBe('application/octet-stream');
    expect(text.length).toBeGreaterThan(0);
  } else if (media === undefined) {
    expect(text).toBe('');
  } else {
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    if (method !== 'head') expectValid(media.schema, JSON.parse(text), `${method.toUpperCase()} ${path} → ${res.status}`);
  }
  checked.add(`${method} ${path} ${res.status}`);
}

const call = (path: string, init: RequestInit & { bearer?: string | null } = {}) => {
  const headers = new Headers(init.headers);
  const bearer = init.bearer === undefined ? ADMIN_KEY : init.bearer;
  if (bearer !== null) headers.set('Authorization', `Bearer ${bearer}`);
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
};
const post = (path: string, body: BodyInit | null, bearer?: string | null) => call(path, { method: 'POST', body, bearer });
const json = (value: unknown) => JSON.stringify(value);
const form = (value: Record<string, string>) => new URLSearchParams(value);
const uniqueSub = (label: string) => `oas-${label}-${crypto.randomUUID()}`;
const big = json({ reason: 'r', pad: 'a'.repeat(17 * 1024) });
/** The worker under another configuration. */
const withEnv = (vars: Json) => (request: Request) =>
  app.fetch(request, { ...env, ...vars } as unknown as Env, createExecutionContext()) as Promise<Response>;

describe('the document', () => {
  it('is OpenAPI 3.1, served as JSON', async () => {
    const res = await exports.default.fetch(`${BASE}/openapi.json`);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc).toMatchObject({ info: { title: 'killswitch', version: expect.any(String) } });
    await expectDocumented(res, 'get', '/openapi.json');
  });

  it('covers every route of the reference, and nothing else', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual(SPEC_ROUTES.map(([method, path]) => `${method} ${path}`).sort());
  });

  it.each(SPEC_ROUTES)('%s %s: security is %s', (method, path, auth) => {
    const security = doc.paths[path]![method]!.security;
    const expected = {
      admin: [{ adminBearer: [] }],
      bearer: [{ bearerJwt: [] }],
      public: [],
      push: [{ ssfPush: [] }, {}],
      feed: [{ feedBearer: [] }],
    };
    expect(security).toEqual(expected[auth]);
  });

  it('declares the security schemes', () => {
    expect(doc.components.securitySchemes).toEqual({
      adminBearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      bearerJwt: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      ssfPush: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      feedBearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
  });

  it('documents every code of ERROR_CODES as an `error`, and no other', () => {
    const documented = new Set<unknown>();
    const walk = (schema: Json): void => {
      const error = (schema.properties as Record<string, Json> | undefined)?.error;
      if (error !== undefined)
        for (const code of [error.const, ...((error.enum as unknown[]) ?? [])]) if (code !== undefined) documented.add(code);
      for (const branch of [...((schema.anyOf as Json[]) ?? []), ...((schema.oneOf as Json[]) ?? [])]) walk(branch);
    };
    for (const schema of Object.values(doc.components.schemas!)) walk(schema);
    expect([...documented].sort()).toEqual([...requestSchemas.ERROR_CODES].sort());
  });

  it('is built once per isolate (the same string after), cheaply', () => {
    expect(openApiJson()).toBe(openApiJson());
    console.log(`buildDocument: first ${buildMs[0]!.toFixed(1)} ms, then ${buildMs[1]!.toFixed(1)} ms; ${openApiJson().length} bytes`);
    // A loose bound on a shared machine: this catches a pathological build, not a slow CPU.
    expect(buildMs[0]).toBeLessThan(1000);
  });

  it('every $ref resolves', () => {
    const refs: string[] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (typeof value === 'object' && value !== null) {
        for (const [key, child] of Object.entries(value)) {
          if (key === '$ref') refs.push(child as string);
          else walk(child);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) expect(() => resolve({ $ref: ref }), ref).not.toThrow();
  });

  it('request schemas are the validating zod schemas, as z.toJSONSchema renders them', () => {
    const bodies = {
      UserRevokeBody: requestSchemas.UserRevokeBody,
      TokenRevokeBody: requestSchemas.TokenRevokeBody,
      RevokeAllBody: requestSchemas.RevokeAllBody,
      LogoutBody: requestSchemas.LogoutBody,
      SessionBody: requestSchemas.SessionBody,
      RevokeForm: requestSchemas.RevokeForm,
      IntrospectForm: requestSchemas.IntrospectForm,
      RefreshForm: requestSchemas.RefreshForm,
      SsfStreamBody: requestSchemas.SsfStreamBody,
      SsfTransmitterBody: requestSchemas.SsfTransmitterBody,
    };
    for (const [name, schema] of Object.entries(bodies)) {
      const { $schema: _, ...rendered } = z.toJSONSchema(schema, { io: 'input' }) as Json;
      expect(doc.components.schemas![name], name).toEqual(rendered);
    }
    const body = (method: string, path: string) => doc.paths[path]![method]!.requestBody!.content as Record<string, { schema: Json }>;
    expect(body('post', '/v1/admin/tokens/revoke')['application/json']!.schema).toEqual({ $ref: '#/components/schemas/TokenRevokeBody' });
    expect(body('post', '/v1/revoke')['application/x-www-form-urlencoded']!.schema).toEqual({ $ref: '#/components/schemas/RevokeForm' });
    expect(body('post', '/v1/token')['application/x-www-form-urlencoded']!.schema).toEqual({ $ref: '#/components/schemas/RefreshForm' });
    const audit = doc.paths['/v1/admin/audit']!.get!.parameters!;
    expect(audit.map((p) => p.name)).toEqual(['sub', 'limit', 'cursor', 'action', 'namespace']);
    expect(audit[3]).toMatchObject({
      in: 'query',
      schema: { enum: ['revoke_user', 'revoke_user_replay', 'revoke_token', 'revoke_all', 'revoke_session', 'refresh_reuse', 'ssf_event'] },
    });
    expect(audit[1]).toMatchObject({ in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } });
    expect(doc.paths['/v1/verify']!.get!.requestBody).toBeUndefined();
  });

  it.each<[string, string, unknown]>([
    ['/v1/admin/tokens/revoke', 'TokenRevokeBody', { jti: 'a', sub: 'oas-agree', exp: now() + 60 }],
    ['/v1/admin/tokens/revoke', 'TokenRevokeBody', { jti: 'a', sub: 'oas-agree', exp: now() + 60, iss: 'https://x', reason: 'r' }],
    ['/v1/admin/tokens/revoke', 'TokenRevokeBody', { sub: 'oas-agree', exp: 2_000_000_000 }],
    ['/v1/admin/tokens/revoke', 'TokenRevokeBody', { jti: 'a', sub: 'oas-agree', exp: 2_000_000_000.5 }],
    ['/v1/admin/tokens/revoke', 'TokenRevokeBody', { jti: 'a', sub: 'oas-agree', exp: -1 }],
    ['/v1/admin/tokens/revoke', 'TokenRevokeBody', { jti: '', sub: 'oas-agree', exp: 2_000_000_000 }],
    ['/v1/admin/tokens/revoke', 'TokenRevokeBody', { jti: 'a', sub: 'oas-agree', exp: 2_000_000_000, reason: ' ' }],
    ['/v1/admin/users/revoke', 'UserRevokeBySubBody', { sub: '..', reason: 'r' }],
    ['/v1/admin/users/revoke', 'UserRevokeBySubBody', { reason: 'r' }],
    ['/v1/admin/users/revoke', 'UserRevokeBySubBody', { sub: 'x'.repeat(8193) }],
    ['/v1/admin/users/lookup', 'UserLookupBody', { sub: '.' }],
    ['/v1/admin/users/lookup', 'UserLookupBody', { sub: '' }],
    ['/v1/admin/users/oas-agree/revoke', 'UserRevokeBody', {}],
    ['/v1/admin/users/oas-agree/revoke', 'UserRevokeBody', { reason: 'x'.repeat(257) }],
    ['/v1/admin/users/oas-agree/revoke', 'UserRevokeBody', { reason: 5 }],
    ['/v1/admin/revoke-all', 'RevokeAllBody', {}],
    ['/v1/sessions', 'SessionBody', { sub: 'oas-agree', scope: 'read', claims: { tenant: 'acme' } }],
    ['/v1/sessions', 'SessionBody', { sub: 'oas-agree', claims: [1] }],
    ['/v1/sessions', 'SessionBody', { sub: 42 }],
  ])('POST %s: the document and the route agree on %s %j', async (path, name, body) => {
    const documentedValid = validatorFor(doc.components.schemas![name]!).validate(body).valid;
    const res = await post(path, json(body));
    expect(res.status === 200, `${res.status}: ${await res.clone().text()}`).toBe(documentedValid);
    if (!documentedValid)
      expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/^"\w+" /) });
  });
  it('response schemas are strict enough to catch a wrong answer', () => {
    const invalid = (name: string, instance: unknown) =>
      expect(validatorFor({ $ref: `#/components/schemas/${name}` }).validate(instance).valid, `${name} ${JSON.stringify(instance)}`).toBe(
        false,
      );
    invalid('VerifyActive', { active: true, sub: 'alice', exp: 1 }); // no iss
    invalid('VerifyActive', { active: false, iss: 'i', sub: 'alice', exp: 1 });
    invalid('Refusal', { active: false, error: 'invalid_token', reason: 'unavailable' });
    invalid('Refusal', { active: false, error: 'invalid_token', reason: 'nope' });
    invalid('AdminUnauthorized', { error: 'unauthorized', error_description: 'extra member' });
    invalid('InvalidRequest', { error: 'invalid_request' }); // the description is always there
    invalid('UserState', { sub: 's', version: 0, revokedBefore: 0 });
    invalid('Introspection', { active: false, sub: 's' });
    invalid('TokenResponse', { access_token: 'a', token_type: 'bearer', expires_in: 300, refresh_token: 'r' });
  });
});

describe('real answers match the documented responses', () => {
  it('GET /healthz, and an unknown route (components.responses.NotFound)', async () => {
    await expectDocumented(await exports.default.fetch(`${BASE}/healthz`), 'get', '/healthz');
    const missing = await exports.default.fetch(`${BASE}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    const notFound = resolve<{ content: Record<string, { schema: Json }> }>(doc.components.responses!.NotFound!);
    expectValid(notFound.content['application/json']!.schema, await missing.json(), '404');
  });

  it('/v1/verify and below: 200 with X-Auth-* headers, 401 (each kind of challenge), 500, 503', async () => {
    const token = await mint('es256-1', { claims: { scope: 'read' } });
    for (const method of VERIFY_METHODS) {
      await expectDocumented(await call('/v1/verify', { method, bearer: token }), method, '/v1/verify');
      await expectDocumented(await call('/v1/verify/api/items/7?strict=1', { method, bearer: token }), method, '/v1/verify/{path}');
      await expectDocumented(await call('/v1/verify', { method, bearer: null }), method, '/v1/verify');
      await expectDocumented(await call('/v1/verify/api/items/7', { method, bearer: 'garbage' }), method, '/v1/verify/{path}');
    }
    const noJti = await mint('HS256', { claims: { jti: undefined, aud: ['api', 'other'], nbf: now() - 5 } });
    await expectDocumented(await call('/v1/verify', { bearer: noJti }), 'get', '/v1/verify');
    await expectDocumented(await call('/v1/verify', { bearer: null }), 'get', '/v1/verify');
    await expectDocumented(await call('/v1/verify', { bearer: `${token.slice(0, -4)}AAAA` }), 'get', '/v1/verify');
    await expectDocumented(
      await call('/v1/verify', { bearer: await mint('es256-1', { claims: { exp: now() - 300, iat: now() - 900 } }) }),
      'get',
      '/v1/verify',
    );
    await expectDocumented(await call('/v1/verify', { bearer: 'garbage' }), 'post', '/v1/verify');

    const failingKv = new Proxy(env.REVOCATIONS, {
      get: (target, name) => (name === 'get' ? () => Promise.reject(new Error('injected')) : Reflect.get(target, name)),
    });
    const unavailable = await withEnv({ REVOCATIONS: failingKv })(
      new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(unavailable.status).toBe(503);
    await expectDocumented(unavailable, 'get', '/v1/verify');
    const misconfigured = await withEnv({ TRUSTED_ISSUERS: '{' })(
      new Request(`${BASE}/v1/verify`, { headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(misconfigured.status).toBe(500);
    await expectDocumented(misconfigured, 'get', '/v1/verify');
  });

  it('POST /v1/revoke: 200 (valid, invalid, refresh token), 400, 401, 413', async () => {
    const token = await mint('es256-1', { claims: { sub: uniqueSub('revoke') } });
    for (const body of [form({ token }), form({ token: 'garbage', token_type_hint: 'access_token' }), form({ token: 'rt1_eA.AAAA' })]) {
      await expectDocumented(await post('/v1/revoke', body), 'post', '/v1/revoke');
    }
    await expectDocumented(await post('/v1/revoke', form({ token_type_hint: 'access_token' })), 'post', '/v1/revoke');
    await expectDocumented(await post('/v1/revoke', form({ token }), null), 'post', '/v1/revoke');
    await expectDocumented(await post('/v1/revoke', big), 'post', '/v1/revoke');
  });

  it('POST /v1/logout: 200 token and user, 400, 401, 413', async () => {
    const sub = uniqueSub('logout');
    await expectDocumented(await post('/v1/logout', null, await mint('es256-1', { claims: { sub } })), 'post', '/v1/logout');
    await expectDocumented(
      await post('/v1/logout', json({ everywhere: true }), await mint('es256-1', { claims: { sub } })),
      'post',
      '/v1/logout',
    );
    await expectDocumented(await post('/v1/logout', json({ everywhere: 'yes' }), await mint()), 'post', '/v1/logout');
    await expectDocumented(await post('/v1/logout', null, null), 'post', '/v1/logout');
    await expectDocumented(await post('/v1/logout', null, 'not-a-jwt'), 'post', '/v1/logout');
    await expectDocumented(await post('/v1/logout', big, await mint()), 'post', '/v1/logout');
  });

  it('POST /v1/introspect: 200 active (with and without scope/client_id) and inactive, 400, 401', async () => {
    const full = await mint('es256-1', { claims: { sub: uniqueSub('intro'), scope: 'read', client_id: 'app' } });
    await expectDocumented(await post('/v1/introspect', form({ token: full })), 'post', '/v1/introspect');
    await expectDocumented(
      await post('/v1/introspect', form({ token: await mint('second-1', { claims: { aud: ['api', 'other'] } }) })),
      'post',
      '/v1/introspect',
    );
    await expectDocumented(await post('/v1/introspect', form({ token: 'garbage' })), 'post', '/v1/introspect');
    await expectDocumented(await post('/v1/introspect', form({})), 'post', '/v1/introspect');
    await expectDocumented(await post('/v1/introspect', form({ token: full }), null), 'post', '/v1/introspect');
  });

  it('admin user routes: 200, 400, 401, 413', async () => {
    const sub = uniqueSub('user');
    const path = `/v1/admin/users/${encodeURIComponent(sub)}`;
    await expectDocumented(await call(path, {}), 'get', '/v1/admin/users/{sub}');
    await expectDocumented(await post(`${path}/revoke`, json({ reason: 'stolen' })), 'post', '/v1/admin/users/{sub}/revoke');
    await expectDocumented(await post(`${path}/revoke`, null), 'post', '/v1/admin/users/{sub}/revoke');
    await expectDocumented(await post(`${path}/revoke`, json({ reason: 7 })), 'post', '/v1/admin/users/{sub}/revoke');
    await expectDocumented(await post(`${path}/revoke`, big), 'post', '/v1/admin/users/{sub}/revoke');
    await expectDocumented(await post(`${path}/revoke`, null, null), 'post', '/v1/admin/users/{sub}/revoke');
    const exp = now() + 600;
    await expectDocumented(
      await post('/v1/admin/tokens/revoke', json({ jti: 'j1', sub, exp, reason: 'leaked' })),
      'post',
      '/v1/admin/tokens/revoke',
    );
    await expectDocumented(
      await post('/v1/admin/tokens/revoke', json({ jti: 'j2', sub, exp, iss: 'https://inline.test' })),
      'post',
      '/v1/admin/tokens/revoke',
    );
    await expectDocumented(await post('/v1/admin/tokens/revoke', json({ jti: 'j3', sub })), 'post', '/v1/admin/tokens/revoke');
    await expectDocumented(
      await post('/v1/admin/tokens/revoke', json({ jti: 'j4', sub, exp: now() - 3600 })),
      'post',
      '/v1/admin/tokens/revoke',
    );
    await expectDocumented(await post('/v1/admin/users/revoke', json({ sub, reason: 'body form' })), 'post', '/v1/admin/users/revoke');
    await expectDocumented(await post('/v1/admin/users/revoke', json({})), 'post', '/v1/admin/users/revoke');
    await expectDocumented(await post('/v1/admin/users/revoke', big), 'post', '/v1/admin/users/revoke');
    await expectDocumented(await post('/v1/admin/users/lookup', json({ sub })), 'post', '/v1/admin/users/lookup');
    await expectDocumented(await post('/v1/admin/users/lookup', json({ sub: 5 })), 'post', '/v1/admin/users/lookup');
    await expectDocumented(await post('/v1/admin/users/lookup', null, null), 'post', '/v1/admin/users/lookup');
    await expectDocumented(await post('/v1/admin/tokens/revoke', '[]'), 'post', '/v1/admin/tokens/revoke');
    await expectDocumented(await call(path, {}), 'get', '/v1/admin/users/{sub}'); // with revoked tokens now
    await expectDocumented(await call(`/v1/admin/users/${'x'.repeat(8193)}`, {}), 'get', '/v1/admin/users/{sub}');
    await expectDocumented(await call(path, { bearer: 'wrong-key-0123456789abc' }), 'get', '/v1/admin/users/{sub}');
    await expectDocumented(await call(`/v1/admin/audit?sub=${encodeURIComponent(sub)}&limit=2`, {}), 'get', '/v1/admin/audit');
    await expectDocumented(await call(`/v1/admin/audit?sub=${encodeURIComponent(sub)}&action=revoke_token`, {}), 'get', '/v1/admin/audit');
    await expectDocumented(await call('/v1/admin/audit?limit=0', {}), 'get', '/v1/admin/audit');
    await expectDocumented(await call('/v1/admin/audit?action=delete_everything', {}), 'get', '/v1/admin/audit');
    await expectDocumented(await call('/v1/admin/audit', { bearer: null }), 'get', '/v1/admin/audit');
  });

  it('the feed (reference §9): 200, 204, 400, 401', async () => {
    await expectDocumented(await call('/v1/feed?after=0', { bearer: FEED_KEY }), 'get', '/v1/feed');
    await expectDocumented(await call('/v1/feed?after=x', { bearer: FEED_KEY }), 'get', '/v1/feed');
    await expectDocumented(await call('/v1/feed?after=0', {}), 'get', '/v1/feed');
    await expectDocumented(await call('/v1/feed/snapshot', { bearer: FEED_KEY }), 'get', '/v1/feed/snapshot');
    await expectDocumented(await call('/v1/feed/snapshot', { bearer: null }), 'get', '/v1/feed/snapshot');
  });

  it('GET /v1/admin/stats: 200, 401', async () => {
    await expectDocumented(await call('/v1/admin/stats', {}), 'get', '/v1/admin/stats');
    await expectDocumented(await call('/v1/admin/stats', { bearer: null }), 'get', '/v1/admin/stats');
  });

  it('token service: sessions, refresh, JWKS, metadata (on and off)', async () => {
    const sub = uniqueSub('session');
    const started = await post('/v1/sessions', json({ sub, scope: 'read', claims: { tenant: 'acme' } }));
    const { refresh_token: refreshToken } = await started.clone().json<{ refresh_token: string }>();
    await expectDocumented(started, 'post', '/v1/sessions');
    const withSession = await call(`/v1/admin/users/${encodeURIComponent(sub)}`, {});
    expect((await withSession.clone().json<{ sessions: unknown[] }>()).sessions).toHaveLength(1);
    await expectDocumented(withSession, 'get', '/v1/admin/users/{sub}');
    await expectDocumented(await post('/v1/sessions', json({ sub: '' })), 'post', '/v1/sessions');
    await expectDocumented(await post('/v1/sessions', json({ sub, claims: { iss: 'x' } })), 'post', '/v1/sessions');
    await expectDocumented(await post('/v1/sessions', json({ sub }), null), 'post', '/v1/sessions');

    const refresh = (params: Record<string, string>) => post('/v1/token', form(params), null);
    await expectDocumented(await refresh({ grant_type: 'refresh_token', refresh_token: refreshToken }), 'post', '/v1/token');
    for (const params of <Record<string, string>[]>[
      { grant_type: 'refresh_token', refresh_token: refreshToken }, // reused: invalid_grant
      { grant_type: 'password' },
      { refresh_token: refreshToken },
      { grant_type: 'refresh_token' },
    ])
      await expectDocumented(await refresh(params), 'post', '/v1/token');

    for (const path of ['/.well-known/jwks.json', '/.well-known/oauth-authorization-server'] as const) {
      await expectDocumented(await exports.default.fetch(`${BASE}${path}`), 'get', path);
      const off = await withEnv({ TOKEN_SIGNING_KEYS: undefined })(new Request(`${BASE}${path}`));
      expect(off.status).toBe(400);
      await expectDocumented(off, 'get', path);
    }
    const off = withEnv({ TOKEN_SIGNING_KEYS: undefined });
    const offSession = await off(
      new Request(`${BASE}/v1/sessions`, { method: 'POST', body: json({ sub }), headers: { Authorization: `Bearer ${ADMIN_KEY}` } }),
    );
    await expectDocumented(offSession, 'post', '/v1/sessions');
    await expectDocumented(
      await off(
        new Request(`${BASE}/v1/token`, { method: 'POST', body: form({ grant_type: 'refresh_token', refresh_token: refreshToken }) }),
      ),
      'post',
      '/v1/token',
    );
  });

  it('Shared Signals: push 202, 400, 401, 404, 413; the stream admin routes', async () => {
    const set = (claims: Json = {}) =>
      signSet({
        sub_id: { format: 'iss_sub', iss: SSF.okta.issuer, sub: uniqueSub('ssf') },
        events: { [`${CAEP}session-revoked`]: {} },
        ...claims,
      });
    const pushPath = '/v1/ssf/{id}/events';
    // SSF_STREAMS is configured in the Shared Signals tests' own env (test/helpers/ssf.ts).
    const call = (path: string, init: RequestInit & { bearer?: string | null } = {}) => {
      const headers = new Headers(init.headers);
      if (init.bearer !== null) headers.set('Authorization', `Bearer ${init.bearer ?? ADMIN_KEY}`);
      return worker(`${BASE}${path}`, { ...init, headers });
    };
    const post = (path: string, body: BodyInit | null) => call(path, { method: 'POST', body });
    await expectDocumented(await push('okta', await set()), 'post', pushPath);
    await expectDocumented(await push('okta', await set({ iss: 'https://evil.test' })), 'post', pushPath);
    await expectDocumented(await push('okta', await set(), { secret: null }), 'post', pushPath);
    await expectDocumented(await push('nope', await set()), 'post', pushPath);
    await expectDocumented(await push('okta', 'a'.repeat(17 * 1024)), 'post', pushPath);

    const streams = '/v1/admin/ssf/streams';
    await expectDocumented(await call(streams), 'get', streams);
    await expectDocumented(await call(streams, { bearer: null }), 'get', streams);
    const manual = { issuer: 'https://oas-idp.test', jwksUri: 'https://oas-idp.test/jwks', audience: uniqueSub('aud') };
    const created = await post(streams, json(manual));
    const { id } = await created.clone().json<{ id: string }>();
    await expectDocumented(created, 'post', streams);
    await expectDocumented(await post(streams, json({ issuer: 'https://oas-idp.test' })), 'post', streams);
    await expectDocumented(
      await post(streams, json({ transmitter: 'https://127.0.0.1:1/nothing', transmitterToken: 't' })),
      'post',
      streams,
    );
    await expectDocumented(await call(`${streams}/${id}`), 'get', `${streams}/{id}`);
    await expectDocumented(await call(`${streams}/missing`), 'get', `${streams}/{id}`);
    await expectDocumented(await post(`${streams}/${id}/verify`, null), 'post', `${streams}/{id}/verify`);
    await expectDocumented(await post(`${streams}/missing/verify`, null), 'post', `${streams}/{id}/verify`);
    const polled = await post(
      streams,
      json({ ...manual, audience: uniqueSub('aud'), poll: { endpoint: `${jwksBase()}/ssf-tx/oas/poll`, token: 'poll-token' } }),
    );
    const pollId = (await polled.clone().json<{ id: string }>()).id;
    await expectDocumented(polled, 'post', streams);
    await expectDocumented(await post(`${streams}/${pollId}/poll`, null), 'post', `${streams}/{id}/poll`);
    await expectDocumented(await post(`${streams}/okta/poll`, null), 'post', `${streams}/{id}/poll`);
    await expectDocumented(await post(`${streams}/missing/poll`, null), 'post', `${streams}/{id}/poll`);
    await expectDocumented(await call(`${streams}/${pollId}`), 'get', `${streams}/{id}`);
    await expectDocumented(await call(`${streams}/okta/audit?limit=2`), 'get', `${streams}/{id}/audit`);
    await expectDocumented(await call(`${streams}/okta/audit?limit=0`), 'get', `${streams}/{id}/audit`);
    await expectDocumented(await call(`${streams}/okta`, { method: 'DELETE' }), 'delete', `${streams}/{id}`);
    await expectDocumented(await call(`${streams}/${id}`, { method: 'DELETE' }), 'delete', `${streams}/{id}`);
  });

  it('POST /v1/introspect: a Cognito access token (no aud, client_id is the audience) is documented', async () => {
    const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OasPool';
    const cognito = withEnv({
      TRUSTED_ISSUERS: JSON.stringify([
        {
          issuer,
          audiences: ['oas-app-client'],
          audienceClaim: 'client_id',
          algorithms: ['RS256'],
          jwks: { keys: [KEYS['rs256-1'].public] },
        },
      ]),
    });
    const token = await mint('rs256-1', {
      claims: {
        iss: issuer,
        aud: undefined,
        client_id: 'oas-app-client',
        token_use: 'access',
        scope: 'openid',
        sub: uniqueSub('cognito'),
      },
    });
    const res = await cognito(
      new Request(`${BASE}/v1/introspect`, {
        method: 'POST',
        body: form({ token }),
        headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      }),
    );
    const body = await res.clone().json<Json>();
    expect(body).toMatchObject({ active: true, client_id: 'oas-app-client' });
    expect(body).not.toHaveProperty('aud');
    await expectDocumented(res, 'post', '/v1/introspect');
  });

  it('bounded mode, a revocation stored but not yet on the feed: 503 "stored, will propagate", as documented', async () => {
    const bounded = boundedEnv();
    const sub = uniqueSub('not-propagated');
    const sw: Switch = { fault: 'reject' };
    await cutFeedFrom(env.USER_STATE.getByName(userObjectName(sub)), sw);
    const admin = (path: string, body: string) =>
      app.fetch(
        new Request(`${BASE}${path}`, {
          method: 'POST',
          body,
          headers: { Authorization: `Bearer ${ADMIN_KEY}` },
        }),
        bounded,
        createExecutionContext(),
      ) as Promise<Response>;
    try {
      for (const [path, body, operation] of [
        [`/v1/admin/users/${encodeURIComponent(sub)}/revoke`, '', '/v1/admin/users/{sub}/revoke'],
        ['/v1/admin/users/revoke', json({ sub }), '/v1/admin/users/revoke'],
        ['/v1/admin/tokens/revoke', json({ jti: 'np-1', sub, exp: now() + 600 }), '/v1/admin/tokens/revoke'],
      ] as const) {
        const res = await admin(path, body);
        expect(res.status, path).toBe(503);
        expect(await res.clone().json<Json>()).toEqual({
          error: 'temporarily_unavailable',
          error_description: expect.stringContaining('will propagate'),
        });
        await expectDocumented(res, 'post', operation);
      }
    } finally {
      sw.fault = 'none';
    }
  });

  it('a Durable Object that cannot be reached: 503 temporarily_unavailable', async () => {
    const unreachable = { getByName: () => ({ state: () => Promise.reject(new Error('injected')) }) };
    const res = await withEnv({ USER_STATE: unreachable })(
      new Request(`${BASE}/v1/admin/users/oas-down`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } }),
    );
    expect(res.status).toBe(503);
    await expectDocumented(res, 'get', '/v1/admin/users/{sub}');
  });

  // Last: it refuses every older token of this file's storage.
  it('POST /v1/admin/revoke-all: 400, 401, 413, then 200; the global audit trail', async () => {
    await expectDocumented(await post('/v1/admin/revoke-all', json({})), 'post', '/v1/admin/revoke-all');
    await expectDocumented(await post('/v1/admin/revoke-all', json({ reason: 'x' }), null), 'post', '/v1/admin/revoke-all');
    await expectDocumented(await post('/v1/admin/revoke-all', big), 'post', '/v1/admin/revoke-all');
    await expectDocumented(await post('/v1/admin/revoke-all', json({ reason: 'openapi test' })), 'post', '/v1/admin/revoke-all');
    const global = await call('/v1/admin/audit', {});
    expect((await global.clone().json<{ events: unknown[] }>()).events).toHaveLength(1);
    await expectDocumented(global, 'get', '/v1/admin/audit');
  });

  it('checked every operation of the document, with at least one success and one error each', () => {
    for (const [method, path] of SPEC_ROUTES) {
      const statuses = [...checked].filter((key) => key.startsWith(`${method} ${path} `)).map((key) => Number(key.split(' ')[2]));
      expect(
        statuses.some((s) => s < 300),
        `${method} ${path}: a success`,
      ).toBe(true);
      if (path !== '/healthz' && path !== '/openapi.json')
        expect(
          statuses.some((s) => s >= 400),
          `${method} ${path}: an error`,
        ).toBe(true);
    }
  });
});
