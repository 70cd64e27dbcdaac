/**
 * workers-sdk#14736, at its source: an RPC promise (what a Durable Object stub or service binding
 * method returns) is callable, so vitest's `expect(promise).rejects` takes it for a function
 * returning the promise, calls it, and awaits that pipelined call instead: the original promise
 * rejects unhandled, a false alarm. Here `.rejects` is handed the RPC promise as a native one,
 * so every unhandled rejection left (see vitest.config.mts) is a real one.
 */
import { chai } from 'vitest';

chai.util.overwriteProperty(
  chai.Assertion.prototype,
  'rejects',
  (vitestRejects: () => unknown) =>
    function (this: Chai.AssertionStatic) {
      const actual: unknown = chai.util.flag(this, 'object');
      if (typeof actual === 'function' && typeof (actual as { then?: unknown }).then === 'function') {
        chai.util.flag(this, 'object', Promise.resolve(actual as unknown as PromiseLike<unknown>));
      }
      return vitestRejects.call(this);
    },
);
