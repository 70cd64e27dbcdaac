// @ts-check
// The load: `concurrency` loops, each running one random step after another (the mix below)
// while the run lasts; it can be paused so that no request is in flight (the heap baseline).
import { expectation, pick } from './model.mjs';
import { refresh, replay, revokeSession, startSession } from './session-actions.mjs';
import { now } from './stats.mjs';
import { mintDemo, revokeToken, revokeUser, verify } from './token-actions.mjs';

/**
 * What every action works on.
 * @typedef {object} SoakContext
 * @property {import('./client.mjs').Client} client
 * @property {import('./model.mjs').Model} model
 * @property {import('./verdicts.mjs').Verdicts} verdicts
 * @property {import('./tokens.mjs').DemoSigner} signer
 */

/**
 * One random step of the mix: verifies (cached, strict, malleated twins) ~70 %, then mints,
 * token and user revokes, sessions, refreshes, replays and session revokes. A step that cannot
 * run now (nothing to act on, the user busy) verifies a random token instead.
 * @param {SoakContext} ctx
 */
export async function step(ctx) {
  const { model } = ctx;
  const x = Math.random();
  if (x < 0.36) {
    const t = model.verifyTarget();
    if (t !== undefined) return verify(ctx, t, false);
  } else if (x < 0.66) {
    const t = model.verifyTarget();
    if (t !== undefined) return verify(ctx, t, true);
  } else if (x < 0.7) {
    const t = model.verifyTarget();
    if (t !== undefined && t.kind === 'demo' && t.jti === undefined && expectation(t, now()) === 'refuse') {
      return verify(ctx, t, Math.random() < 0.5, true);
    }
  } else if (x < 0.77) {
    if (await mintDemo(ctx, /** @type {import('./types.d.ts').ModelUser} */ (pick(model.users)))) return undefined;
  } else if (x < 0.82) {
    const t = pick(model.pool);
    if (t !== undefined && t.id.revokeSentAt === undefined) return revokeToken(ctx, t);
  } else if (x < 0.835) {
    if (await revokeUser(ctx, /** @type {import('./types.d.ts').ModelUser} */ (pick(model.users)))) return undefined;
  } else if (x < 0.87) {
    if (await startSession(ctx, /** @type {import('./types.d.ts').ModelUser} */ (pick(model.users)))) return undefined;
  } else if (x < 0.95) {
    const s = pick(model.sessions);
    if (s !== undefined && (await refresh(ctx, s))) return undefined;
  } else if (x < 0.98) {
    const s = pick(model.sessions);
    if (s !== undefined && (await replay(ctx, s))) return undefined;
  } else {
    const s = pick(model.sessions);
    if (s !== undefined && (await revokeSession(ctx, s))) return undefined;
  }
  const t = pick(model.pool);
  if (t !== undefined) return verify(ctx, t, Math.random() < 0.5);
  return undefined;
}

export class Load {
  /**
   * @param {SoakContext} ctx
   * @param {() => boolean} running  false once the run is over (time, request cap, signal)
   */
  constructor(ctx, running) {
    this.ctx = ctx;
    this.running = running;
    /** @type {Promise<void> | undefined} While set, the loops wait on it. */
    this.paused = undefined;
    this.stepsInFlight = 0;
  }

  /** Runs `concurrency` loops of steps until the run is over. @param {number} concurrency */
  async run(concurrency) {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (this.running()) {
          if (this.paused !== undefined) {
            await this.paused;
            continue;
          }
          this.stepsInFlight++;
          try {
            await step(this.ctx);
          } finally {
            this.stepsInFlight--;
          }
        }
      }),
    );
  }

  /**
   * Pauses the loops, waits until no step is in flight, runs `fn`, resumes; resolves to how long
   * the load was paused (ms).
   * @param {() => Promise<void>} fn
   * @returns {Promise<number>}
   */
  async pauseWhile(fn) {
    /** @type {() => void} */
    let resume = () => {};
    this.paused = new Promise((r) => {
      resume = () => r(undefined);
    });
    const pausedAt = now();
    try {
      while (this.stepsInFlight > 0) await new Promise((r) => setTimeout(r, 5));
      await fn();
    } finally {
      this.paused = undefined;
      resume();
    }
    return Math.round(now() - pausedAt);
  }
}
