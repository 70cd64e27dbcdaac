/** The library entry: embed killswitch's verifier in your own Hono app (docs/reference.md §3.3). */
export { killswitch, type KillswitchAuth, type KillswitchEnv, type KillswitchOptions } from './killswitch';
export { REASONS, type Reason } from '../verify/reasons';
export type { AuthenticToken, VerifyResult } from '../verify/token';
export type { Claims } from '../verify/compact-jws';
