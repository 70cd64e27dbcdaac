// An API worker that delegates token checks to killswitch over a service binding.
//
//   GET /verify            Authorization: Bearer <jwt>   → the RPC result as JSON
//   GET /verify?strict=1                                  → the same, read from the Durable Objects
//   GET /hello             Authorization: Bearer <jwt>   → 200 "hello <sub>" or 401 <reason>
//
// env.AUTH.verify(token, { strict }) resolves to
//   { active: true, claims: {...}, user: "<user id>" }  or  { active: false, reason: "<reason code>" }   (SPEC §3.2)
// and never throws for a bad token: a refusal is a value, not an exception.

/** The token of `Authorization: Bearer <jwt>`, or undefined. */
function bearer(request) {
  const match = /^Bearer[ ]+(\S+)$/i.exec(request.headers.get('Authorization') ?? '');
  return match ? match[1] : undefined;
}

export default {
  /** @param {Request} request @param {{ AUTH: { verify(token: string | undefined, options?: { strict?: boolean }): Promise<any> } }} env */
  async fetch(request, env) {
    const url = new URL(request.url);
    const token = bearer(request);
    const strict = url.searchParams.get('strict') === '1';

    if (url.pathname === '/verify') {
      const result = await env.AUTH.verify(token, strict ? { strict: true } : undefined);
      return Response.json(result, { status: result.active ? 200 : 401 });
    }

    if (url.pathname === '/hello') {
      const result = await env.AUTH.verify(token);
      if (!result.active) return new Response(result.reason, { status: result.reason === 'unavailable' ? 503 : 401 });
      return new Response(`hello ${result.claims.sub}\n`);
    }

    return Response.json({ error: 'not_found' }, { status: 404 });
  },
};
