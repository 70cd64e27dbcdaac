/**
 * reference §7 poll delivery (RFC 8936): a manual stream created with `poll`, polled by its
 * SsfStream Durable Object against the poll endpoint of the local transmitter
 * (test/global-setup.ts). Polls are triggered through the admin API's "poll now", which runs
 * the alarm's very cycle; each test has its own transmitter name, stream and JWKS path.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseStream } from '../src/config/ssf-streams';
import { ssfStreamObjectName } from '../src/revocation/storage-keys';
import { BASE, ISSUERS, KEYS } from './helpers/fixtures';
import { freshJwksPath, jwksBase, publishKeys, setJwksStatus } from './helpers/jwks-server';
import { CAEP, signSet, ssfAdmin as admin, worker } from './helpers/ssf';
import { mint, now, uniqueSub } from './helpers/tokens';

const POLL_TOKEN = 'poll-token';

interface PollRequest {
  maxEvents: number;
  returnImmediately: boolean;
  ack?: string[];
  setErrs?: Record<string, { err: string; description: string }>;
}
const tx = async (name: string) =>
  (await fetch(`${jwksBase()}/__control/ssf-tx?name=${name}`)).json<{ queue: Record<string, string>; polls: PollRequest[] }>();
const txControl = (name: string, how: Record<string, unknown>) =>
  fetch(`${jwksBase()}/__control/ssf-tx?name=${name}`, { method: 'POST', body: JSON.stringify(how) });

interface PollStatus {
  polling: boolean;
  failures: number;
  lastError: string | null;
  pendingAcks: number;
  nextPollAt: number | null;
}
const pollNow = async (id: string) => {
  const res = await admin(`/v1/admin/ssf/streams/${id}/poll`, { method: 'POST' });
  expect(res.status).toBe(200);
  return (await res.json<{ poll: PollStatus }>()).poll;
};
const verify = async (token: string) =>
  (await worker(`${BASE}/v1/verify?strict=1`, { headers: { Authorization: `Bearer ${token}` } })).json<{ reason?: string }>();
const userVersion = async (sub: string) =>
  (await (await admin(`/v1/admin/users/${encodeURIComponent(sub)}`)).json<{ version: number }>()).version;

interface PollStream {
  id: string;
  name: string;
  issuer: string;
  audience: string;
  jwksPath: string;
}

/** A manual stream polling the transmitter `name` (interval long enough that only the test polls). */
async function pollStream(label: string, intervalSeconds = 300): Promise<PollStream> {
  const name = `poll-${label}-${crypto.randomUUID().slice(0, 8)}`;
  const issuer = `https://${name}.test`;
  const audience = `https://ks.test/poll/${name}`;
  const jwksPath = freshJwksPath(name);
  await publishKeys(jwksPath, [KEYS['rs256-1'].public]);
  const res = await admin('/v1/admin/ssf/streams', {
    method: 'POST',
    json: {
      issuer,
      audience,
      jwksUri: `${jwksBase()}${jwksPath}`,
      pushSecret: false,
      subjects: { iss_sub: { [issuer]: { issuer: ISSUERS.inline, claim: 'sub' } } },
      poll: { endpoint: `${jwksBase()}/ssf-tx/${name}/poll`, token: POLL_TOKEN, maxEvents: 4, intervalSeconds },
    },
  });
  expect(res.status).toBe(201);
  const { id } = await res.json<{ id: string }>();
  return { id, name, issuer, audience, jwksPath };
}

const sessionRevoked = (s: PollStream, sub: string, claims: Record<string, unknown> = {}) =>
  signSet({
    iss: s.issuer,
    aud: s.audience,
    sub_id: { format: 'iss_sub', iss: s.issuer, sub },
    events: { [`${CAEP}session-revoked`]: { event_timestamp: Date.now() } },
    ...claims,
  });
const tokenOf = (sub: string) => mint('rs256-1', { claims: { sub, iat: now() - 60, exp: now() + 3600 } });

beforeAll(async () => {
  await admin('/v1/admin/ssf/streams');
}, 30_000);

describe('poll delivery: SETs polled from the transmitter', () => {
  it("a polled session-revoked refuses the user's token; the SET is acked once durable, an invalid one goes back as setErrs", async () => {
    const s = await pollStream('basic');
    const sub = uniqueSub('basic');
    const token = await tokenOf(sub);
    expect((await verify(token)).reason).toBeUndefined();
    const good = crypto.randomUUID();
    const wrongAud = crypto.randomUUID();
    const badSig = crypto.randomUUID();
    const forged = await sessionRevoked(s, uniqueSub('forged'), { jti: badSig });
    await txControl(s.name, {
      queue: {
        [good]: await sessionRevoked(s, sub, { jti: good }),
        [wrongAud]: await sessionRevoked(s, sub, { jti: wrongAud, aud: 'https://someone-else.test' }),
        [badSig]: `${forged.slice(0, -4)}AAAA`,
        notAString: { not: 'a SET' },
      },
    });

    const status = await pollNow(s.id);
    expect(status).toMatchObject({ polling: true, failures: 0, lastError: null, pendingAcks: 0 });
    expect(await verify(token)).toMatchObject({ reason: 'revoked_user' });

    const { queue, polls } = await tx(s.name);
    expect(queue).toEqual({}); // everything settled: acked or refused
    const acked = polls.flatMap((p) => p.ack ?? []);
    expect(acked).toEqual([good]);
    const errs = Object.assign({}, ...polls.map((p) => p.setErrs ?? {}));
    expect(errs).toEqual({
      [wrongAud]: { err: 'invalid_audience', description: expect.any(String) },
      [badSig]: { err: 'authentication_failed', description: expect.any(String) },
      notAString: { err: 'invalid_request', description: expect.any(String) },
    });
    for (const p of polls) expect(p).toMatchObject({ maxEvents: 4, returnImmediately: true });

    // The same audit trail as push: the stream's SET was acted on and recorded.
    const audit = await (await admin(`/v1/admin/ssf/streams/${s.id}/audit`)).json<{ events: { sub: string | null; jti?: string }[] }>();
    expect(audit.events).toEqual(expect.arrayContaining([expect.objectContaining({ sub, jti: good })]));
  });

  it('more SETs than maxEvents: each poll takes at most maxEvents, every SET ends acked', async () => {
    const s = await pollStream('many');
    const subs = Array.from({ length: 6 }, () => uniqueSub('many'));
    const sets = await Promise.all(subs.map(async (sub) => [crypto.randomUUID(), await sessionRevoked(s, sub)] as const));
    await txControl(s.name, { queue: Object.fromEntries(sets.map(([jti, set]) => [jti, set])) });
    await pollNow(s.id);
    const { queue, polls } = await tx(s.name);
    expect(queue).toEqual({});
    expect(polls.flatMap((p) => p.ack ?? []).sort()).toEqual(sets.map(([jti]) => jti).sort());
    for (const sub of subs) expect(await userVersion(sub)).toBe(1);
  });

  it('a SET delivered again (and the same SET pushed too) revokes once', async () => {
    const s = await pollStream('dup');
    const sub = uniqueSub('dup');
    const jti = crypto.randomUUID();
    const set = await sessionRevoked(s, sub, { jti });
    await txControl(s.name, { queue: { [jti]: set } });
    await pollNow(s.id);
    expect(await userVersion(sub)).toBe(1);
    // The transmitter sends it again (as after a lost ack): a duplicate, acked, no second revocation.
    await txControl(s.name, { queue: { [jti]: set } });
    await pollNow(s.id);
    expect(await userVersion(sub)).toBe(1);
    const { queue, polls } = await tx(s.name);
    expect(queue).toEqual({});
    expect(polls.flatMap((p) => p.ack ?? [])).toEqual([jti, jti]);
  });
});

describe('poll delivery: failures', () => {
  it('transmitter down: backoff doubles from the interval, recovery processes what waited', async () => {
    const s = await pollStream('down', 5);
    await txControl(s.name, { status: 503 });
    const sub = uniqueSub('down');
    const jti = crypto.randomUUID();
    await txControl(s.name, { queue: { [jti]: await sessionRevoked(s, sub, { jti }) } });

    const first = await pollNow(s.id);
    expect(first).toMatchObject({ polling: true, failures: 1, lastError: expect.stringContaining('status 503') });
    expect(first.nextPollAt! - now()).toBeGreaterThanOrEqual(9);
    expect(first.nextPollAt! - now()).toBeLessThanOrEqual(11);
    const second = await pollNow(s.id);
    expect(second.failures).toBe(2);
    expect(second.nextPollAt! - now()).toBeGreaterThanOrEqual(19);
    expect(second.nextPollAt! - now()).toBeLessThanOrEqual(21);
    expect(await userVersion(sub)).toBe(0);

    await txControl(s.name, { status: null });
    const recovered = await pollNow(s.id);
    expect(recovered).toMatchObject({ failures: 0, lastError: null, pendingAcks: 0 });
    expect(recovered.nextPollAt! - now()).toBeLessThanOrEqual(6);
    expect(await userVersion(sub)).toBe(1);
    expect((await tx(s.name)).queue).toEqual({});
  });

  it('a SET whose keys cannot be fetched is not acked: the transmitter keeps it', async () => {
    const s = await pollStream('keys');
    await setJwksStatus(s.jwksPath, 503);
    const sub = uniqueSub('keys');
    const jti = crypto.randomUUID();
    await txControl(s.name, { queue: { [jti]: await sessionRevoked(s, sub, { jti }) } });
    const failed = await pollNow(s.id);
    expect(failed.failures).toBe(1);
    expect(failed.pendingAcks).toBe(0);
    expect(await userVersion(sub)).toBe(0);
    const during = await tx(s.name);
    expect(during.polls.flatMap((p) => [...(p.ack ?? []), ...Object.keys(p.setErrs ?? {})])).toEqual([]);
    expect(Object.keys(during.queue)).toEqual([jti]);

    // Keys back, but the JWKS client waits JWKS_FAILURE_RETRY_MS before refetching: still unacked,
    // still queued (recovery itself is the "transmitter down" test's).
    await setJwksStatus(s.jwksPath, 200);
    expect((await pollNow(s.id)).failures).toBe(2);
    expect((await tx(s.name)).polls.flatMap((p) => p.ack ?? [])).toEqual([]);
    expect(Object.keys((await tx(s.name)).queue)).toEqual([jti]);
  });

  it('the poll token is never shown by the admin API', async () => {
    const s = await pollStream('secret');
    const shown = await (await admin(`/v1/admin/ssf/streams/${s.id}`)).text();
    const listed = await (await admin('/v1/admin/ssf/streams')).text();
    for (const text of [shown, listed]) {
      expect(text).toContain(`/ssf-tx/${s.name}/poll`);
      expect(text).not.toContain(POLL_TOKEN);
    }
    expect(JSON.parse(shown).status.poll).toMatchObject({ polling: true });
  });
});

describe('poll delivery: lifecycle and configuration', () => {
  it('creating a poll stream arms its alarm; deleting it stops polling', async () => {
    const s = await pollStream('life');
    const stub = env.SSF_STREAM.getByName(ssfStreamObjectName(s.id));
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).not.toBeNull();
    expect((await admin(`/v1/admin/ssf/streams/${s.id}`, { method: 'DELETE', json: {} })).status).toBe(200);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    expect((await stub.pollStatus()).polling).toBe(false);
  });

  it('"poll now" on a pushed stream is 400; a poll endpoint must be https (http only on localhost)', async () => {
    const res = await admin('/v1/admin/ssf/streams/okta/poll', { method: 'POST' });
    expect(res.status).toBe(400);
    const bad = await admin('/v1/admin/ssf/streams', {
      method: 'POST',
      json: {
        issuer: 'https://x.test',
        audience: 'https://ks.test/poll/x',
        jwksUri: 'https://x.test/jwks',
        pushSecret: false,
        poll: { endpoint: 'http://transmitter.example/poll', token: POLL_TOKEN },
      },
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('https');
  });

  it('SSF_STREAMS: "token" names a secret binding; bounds on maxEvents and intervalSeconds', () => {
    const entry = (poll: Record<string, unknown>) => ({
      id: 'p',
      issuer: 'https://p.test',
      audience: 'https://ks.test/p',
      jwks: { keys: [KEYS['rs256-1'].public] },
      poll,
    });
    const parsed = parseStream(
      entry({ endpoint: 'https://p.test/poll', token: 'POLL_SECRET' }),
      { POLL_SECRET: 'value-1' },
      new Map(),
      's',
    );
    expect(parsed.poll).toEqual({ endpoint: 'https://p.test/poll', token: 'value-1', maxEvents: 16, intervalSeconds: 10 });
    expect(() => parseStream(entry({ endpoint: 'https://p.test/poll', token: 'MISSING' }), {}, new Map(), 's')).toThrow(/secret binding/);
    expect(() => parseStream(entry({ endpoint: 'https://p.test/poll', tokenValue: 'x' }), {}, new Map(), 's')).toThrow(/tokenValue/);
    expect(() => parseStream(entry({ endpoint: 'http://p.test/poll', token: 'S' }), { S: 'v' }, new Map(), 's')).toThrow(/https/);
    expect(() => parseStream(entry({ endpoint: 'https://p.test/poll', token: 'S', maxEvents: 65 }), { S: 'v' }, new Map(), 's')).toThrow(
      /maxEvents/,
    );
    expect(() =>
      parseStream(entry({ endpoint: 'https://p.test/poll', token: 'S', intervalSeconds: 0 }), { S: 'v' }, new Map(), 's'),
    ).toThrow(/intervalSeconds/);
  });
});
