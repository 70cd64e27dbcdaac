// Copied by bench/run.mjs to <snapshot>/counting/ beside a copy of src/.
// killswitch (src/index.ts, unchanged) behind a thin wrapper that counts revocation-state
// reads: calls on the REVOCATIONS KV binding and on the USER_STATE / GLOBAL_STATE namespaces.
// Used only for the "G reads no state" check, never for throughput.
import worker, { GlobalState, UserState, Verifier } from '../src/index.ts';

export { GlobalState, UserState, Verifier };

const counts = { kv: 0, userState: 0, globalState: 0 };
const wrapped = new WeakMap();

function counting(target, key) {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (typeof value !== 'function') return value;
      return (...args) => {
        counts[key]++;
        return value.apply(t, args);
      };
    },
  });
}

function wrapEnv(env) {
  let out = wrapped.get(env);
  if (out === undefined) {
    out = {
      ...env,
      REVOCATIONS: counting(env.REVOCATIONS, 'kv'),
      USER_STATE: counting(env.USER_STATE, 'userState'),
      GLOBAL_STATE: counting(env.GLOBAL_STATE, 'globalState'),
    };
    wrapped.set(env, out);
  }
  return out;
}

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/__bench/reads') return Response.json(counts);
    if (pathname === '/__bench/reset') {
      counts.kv = counts.userState = counts.globalState = 0;
      return Response.json(counts);
    }
    return worker.fetch(request, wrapEnv(env), ctx);
  },
};
