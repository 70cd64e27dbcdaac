/**
 * Fault switches around the REAL bindings (issue 7): each wraps a binding or a Durable Object
 * namespace and misbehaves while its switch says so, so a test can also check recovery in the
 * same isolate. Plus `call`, one request through the worker's fetch handler with given bindings.
 */
import { createExecutionContext, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { app } from '../../src/app';
import type { GlobalState, UserState } from '../../src/index';
import { ADMIN_KEY, BASE } from './fixtures';

export type Fault = 'none' | 'reject' | 'throw' | 'hang' | { slowMs: number };
export interface Switch {
  fault: Fault;
}
const injected = (what: string) => new Error(`injected fault: ${what}`);

/**
 * The real binding (a KV namespace, a Durable Object namespace or stub), every method call going
 * through `around(method, call, args)`: `call()` makes the real call; return anything else instead to
 * count, fail or hang.
 */
export function intercept<T extends object>(real: T, around: (method: string, call: () => unknown, args: unknown[]) => unknown): T {
  return new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      // Reflect.apply, not value.apply: on a Durable Object stub `value.apply` is a remote property.
      return (...args: unknown[]) => around(String(prop), () => Reflect.apply(value as (...a: unknown[]) => unknown, target, args), args);
    },
  });
}

/** The real binding; calls of `methods` misbehave as `sw.fault` says, everything else goes straight through. */
export function withFault<T extends object>(real: T, methods: string[], sw: Switch): T {
  return intercept(real, (method, call) => {
    const { fault } = sw;
    if (!methods.includes(method) || fault === 'none') return call();
    if (fault === 'throw') throw injected(method);
    if (fault === 'reject') return Promise.reject(injected(method));
    if (fault === 'hang') return new Promise(() => {});
    return new Promise((resolve) => setTimeout(resolve, fault.slowMs)).then(call);
  });
}

/** A Durable Object namespace whose stubs, while the fault is on, reject every call (the object is unreachable). */
export function unreachable<T extends object>(real: T, sw: Switch): T {
  return intercept(real, (method, call) => {
    const stub = call();
    if ((method !== 'getByName' && method !== 'get') || sw.fault === 'none') return stub;
    return new Proxy(stub as object, {
      get: (_stub, name) => (name === 'then' ? undefined : () => Promise.reject(injected('Durable Object unreachable'))),
    });
  });
}

/** The real binding (a KV namespace or a Durable Object namespace), counting every call on it into `counts[name]`. */
export function counted<T extends object>(real: T, counts: Record<string, number>, name: string): T {
  counts[name] = 0;
  return intercept(real, (_method, call) => {
    counts[name]! += 1;
    return call();
  });
}

/** Gives the live Durable Object behind `stub` the test bindings with `bindings` over them, until it restarts. */
export async function setObjectBindings(stub: DurableObjectStub<UserState | GlobalState>, bindings: Partial<Env>): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    (instance as unknown as { env: Env }).env = { ...env, ...bindings } as Env;
  });
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  ms: number;
  retryAfter: string | null;
}

/** One request through the worker's fetch handler with `bindings` (one object per test: its config is parsed once). */
export async function call(bindings: object, path: string, init: RequestInit & { admin?: boolean; bearer?: string } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.admin === true) headers.set('Authorization', `Bearer ${ADMIN_KEY}`);
  if (init.bearer !== undefined) headers.set('Authorization', `Bearer ${init.bearer}`);
  const started = Date.now();
  const res = await app.fetch(new Request(`${BASE}${path}`, { ...init, headers }), bindings, createExecutionContext());
  const text = await res.text();
  const ms = Date.now() - started;
  return {
    status: res.status,
    text,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    ms,
    retryAfter: res.headers.get('Retry-After'),
  };
}
export const verify = (bindings: object, token: string, strict = false) =>
  call(bindings, `/v1/verify${strict ? '?strict=1' : ''}`, { bearer: token });
