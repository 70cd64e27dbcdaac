import { Guard, type GuardOptions } from './guard';

/** What the hook needs of Fastify's request and reply (no import of fastify itself). */
interface Request {
  headers: { authorization?: string };
  auth?: unknown;
}
interface Reply {
  code(status: number): Reply;
  headers(values: Record<string, string>): Reply;
  send(body: unknown): unknown;
}

/**
 * A Fastify `onRequest` hook (docs/origins.md): `app.addHook('onRequest', hook)`. A verified,
 * unrevoked token's claims in `request.auth`; otherwise 401 (or 503) with the reason.
 */
export function killswitchFastify(options: GuardOptions) {
  const guard = new Guard(options);
  const hook = async (request: Request, reply: Reply): Promise<void> => {
    const answer = await guard.check(request.headers.authorization);
    if (answer.ok) request.auth = answer.claims;
    else await reply.code(answer.status).headers(answer.headers).send(answer.body);
  };
  return Object.assign(hook, { guard });
}
