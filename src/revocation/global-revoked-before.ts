import type { GlobalState } from './global-state';
import { GLOBAL_OBJECT_NAME } from './storage-keys';

/**
 * The global revoked-before as strict reads need it: what the one GlobalState object says now.
 * Each isolate coalesces its reads (docs/reference.md §4.2) so that a burst of strict checks or
 * token refreshes costs the one global object a read per round trip, not one per call — and
 * stays strict: a caller never takes the answer of a read that started before it did (that read
 * may miss a revoke-all acknowledged in between). It waits for that read and shares the next
 * one with everyone else who came meanwhile. The value is monotonic, so it never moves backwards
 * either (a replayed old answer cannot undo a revoke-all).
 */
interface Reads {
  inFlight?: Promise<number>;
  next?: Promise<number>;
  highest: number;
}

/** Per namespace binding: tests (and fault injection) give each their own. */
const readsByBinding = new WeakMap<object, Reads>();

export function globalRevokedBefore(namespace: DurableObjectNamespace<GlobalState>): Promise<number> {
  let reads = readsByBinding.get(namespace);
  if (reads === undefined) readsByBinding.set(namespace, (reads = { highest: 0 }));
  const state = reads;
  const start = (): Promise<number> => {
    const read = namespace
      .getByName(GLOBAL_OBJECT_NAME)
      .state()
      .then(({ revokedBefore }) => (state.highest = Math.max(state.highest, revokedBefore)))
      .finally(() => {
        if (state.inFlight === read) state.inFlight = undefined;
      });
    state.inFlight = read;
    return read;
  };
  if (state.next !== undefined) return state.next;
  if (state.inFlight === undefined) return start();
  const next = state.inFlight
    .catch(() => undefined)
    .then(() => {
      state.next = undefined;
      return start();
    });
  state.next = next;
  return next;
}
