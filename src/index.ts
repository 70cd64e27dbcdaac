/**
 * killswitch: the worker's entry. `fetch` serves the HTTP routes of docs/reference.md §3–§5; `Verifier`
 * is the service-binding entrypoint; the Durable Object classes are exported for wrangler.
 */
import { app } from './app';

export { Verifier } from './rpc/verifier-entrypoint';
export { UserState } from './revocation/user-state';
export { GlobalState } from './revocation/global-state';
export { SsfStream } from './ssf/stream-state';
export { RevocationFeed } from './feed/revocation-feed';

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
