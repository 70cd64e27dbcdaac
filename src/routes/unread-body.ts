import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './app-env';

/** What is drained of a body the route did not read to its end (reading and dropping is cheap). */
export const DRAIN_MAX_BYTES = 256 * 1024;
/** How long draining may take, for a client that trickles its body. */
export const DRAIN_MAX_MS = 2_000;

/** Reads and drops the rest of `body`, within the bounds. */
async function drain(body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  let timer: number | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), DRAIN_MAX_MS); });
  let size = 0;
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), late]);
      if (read === 'late' || read.done) return;
      size += read.value.byteLength;
      if (size > DRAIN_MAX_BYTES) return;
    }
  } catch {
    // a client that went away: nothing left to drain
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    reader.cancel().catch(() => undefined);
  }
}

/**
 * A request body left unread must not stall the client's connection: on a keep-alive
 * connection the next request waits behind the unread bytes (a 413, or a 401 answered before
 * the body, left it waiting 30 s and more under wrangler dev). So, once the route answered, the
 * rest of a body it did not read to its end is read and dropped: at most 256 KiB, for at most
 * 2 s. Past that the connection is the runtime's to deal with: a worker cannot close it
 * (workerd drops a `Connection: close` response header), so the bound is what we control.
 */
export const settleUnreadBody = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const { body } = c.req.raw;
  if (body === null || c.var.bodyRead === true || body.locked) return;
  await drain(body);
});
