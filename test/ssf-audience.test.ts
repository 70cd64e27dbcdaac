/**
 * docs/security-events.md §6 (issue 19 item 9): a stream's audience is its own. Stored streams
 * are checked in the registry object, atomically with the insert; SSF_STREAMS in the route.
 */
import { describe, expect, it } from 'vitest';
import { ISSUERS, SSF } from './helpers/fixtures';
import { jwksBase } from './helpers/jwks-server';
import { ssfAdmin as admin } from './helpers/ssf';

const manual = (audience: string) =>
  admin('/v1/admin/ssf/streams', {
    method: 'POST',
    json: {
      issuer: 'https://aud-idp.test',
      jwksUri: `${jwksBase()}/jwks/ssf-okta`,
      audience,
      subjects: { iss_sub: { 'https://aud-idp.test': { issuer: ISSUERS.inline } } },
    },
  });

describe('stream audience uniqueness', () => {
  it('two concurrent creates of one audience: one 201, the other 409 audience_taken, one stream stored', async () => {
    const audience = `aud-${crypto.randomUUID()}`;
    const answers = await Promise.all([manual(audience), manual(audience)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const refused = answers.find((r) => r.status === 409)!;
    expect(await refused.json()).toEqual({ error: 'audience_taken', error_description: expect.stringContaining('audience') });
    const { streams } = await (await admin('/v1/admin/ssf/streams')).json<{ streams: { audience: string }[] }>();
    expect(streams.filter((s) => s.audience === audience)).toHaveLength(1);
  });

  it("an SSF_STREAMS stream's audience: 409, nothing stored", async () => {
    const res = await manual(SSF.okta.audience);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'audience_taken' });
    const { streams } = await (await admin('/v1/admin/ssf/streams')).json<{ streams: { audience: string }[] }>();
    expect(streams.filter((s) => s.audience === SSF.okta.audience)).toHaveLength(1);
  });
});
