/** killswitch/client (docs/origins.md): revocation beyond the edge, for Node backends. */
export { Revocations, type RevocationsOptions, type RevokedReason } from './revocations';
export { Guard, type GuardAnswer, type GuardOptions, type Refusal } from './guard';
export { killswitchExpress } from './express';
export { killswitchFastify } from './fastify';
export { killswitchHono } from './hono';
