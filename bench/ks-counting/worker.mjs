// Copied by bench/lib/workers.mjs to <snapshot>/counting/ beside a copy of src/.
// killswitch (src/index.ts, unchanged) behind a thin wrapper that counts storage calls, per
// isolate: every method call on a storage binding (KV namespaces, Durable Object namespaces,
// and on the stubs those hand out, i.e. the RPC calls), and Cache API matches. Whatever a
// revocation mode reads (KV in cached mode, the user DO in strict mode, a feed in bounded
// mode) shows up under its binding's name without this file knowing the mode.
// Used for the "forged tokens read nothing" check and the reads-per-second figures, never
// for throughput.
import worker from '../src/index.ts';

// Every Durable Object class the build exports (bindings name them); default is ours below.
export * from '../src/index.ts';

/** binding name (or `NAME:stub`, `cache`) → calls */
const counts = {};
/** Requests this isolate began to answer (autocannon counts only those answered in its window). */
const requests = { n: 0 };
const started = { at: Date.now() };
const bump = (key) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** A Durable Object namespace binding (a KV namespace's `get` answers a Promise, not a stub). Not for stubs: on an RPC stub every property looks like a function. */
const isDurableObjectNamespace = (value) => typeof value.idFromName === 'function';

/**
 * Counts every call of a method of `target` under `key`; the stubs a Durable Object namespace
 * hands out (`get`, `getByName`) are counted too. Only those: wrapping what KV's `get` returns
 * (a Promise) in a Proxy broke every `await` on it ("Promise.prototype.then called on
 * incompatible receiver"), so the wrapped Worker's KV reads — bounded mode's snapshot load,
 * cached mode's check — failed and it read the writers on every check.
 */
function counting(target, key, handsOutStubs) {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (typeof value !== 'function' || prop === 'then') return value;
      return (...args) => {
        bump(key);
        // Reflect.apply, not value.apply: on an RPC stub, `.apply` would be a remote call.
        const out = Reflect.apply(value, t, args);
        const isStub = handsOutStubs && (prop === 'get' || prop === 'getByName') && out !== null && typeof out === 'object';
        return isStub ? counting(out, `${key}:stub`, false) : out;
      };
    },
  });
}

/** Storage bindings: objects with the methods of a KV or Durable Object namespace. */
const isStorage = (value) =>
  value !== null &&
  typeof value === 'object' &&
  (isDurableObjectNamespace(value) || (typeof value.get === 'function' && typeof value.list === 'function'));

const wrapped = new WeakMap();
function wrapEnv(env) {
  let out = wrapped.get(env);
  if (out === undefined) {
    out = { ...env };
    for (const [name, value] of Object.entries(env))
      if (isStorage(value)) out[name] = counting(value, name, isDurableObjectNamespace(value));
    wrapped.set(env, out);
  }
  return out;
}

// Cache API reads (a per-location copy of shared state, if the build keeps one there).
try {
  const cacheProto = Object.getPrototypeOf(globalThis.caches.default);
  const match = cacheProto.match;
  cacheProto.match = function countedMatch(...args) {
    bump('cache');
    return Reflect.apply(match, this, args);
  };
} catch {
  counts.cacheNotCounted = 1; // the runtime did not let the prototype be patched: say so
}

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/__bench/reads') return Response.json({ counts, requests: requests.n, sinceMs: Date.now() - started.at });
    if (pathname === '/__bench/reset') {
      for (const key of Object.keys(counts)) delete counts[key];
      requests.n = 0;
      started.at = Date.now();
      return Response.json({ counts, requests: 0, sinceMs: 0 });
    }
    requests.n++;
    return worker.fetch(request, wrapEnv(env), ctx);
  },
};
