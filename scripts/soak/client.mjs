// @ts-check
// The soak's HTTP client: every request timed and counted per kind; 5xx and network errors are
// violations.
import { DEMO_ADMIN_KEY } from '../lib/wrangler-dev.mjs';
import { now } from './stats.mjs';

/** @import { Answer } from './types.d.ts' */
/** @import { Stats } from './stats.mjs' */
/** @import { Verdicts } from './verdicts.mjs' */

export const ADMIN = { Authorization: `Bearer ${DEMO_ADMIN_KEY}` };
/** ?strict=1 without PUBLIC_STRICT: an operator's, the admin key in its own header. */
export const STRICT = { 'Killswitch-Admin-Key': DEMO_ADMIN_KEY };

export class Client {
  /**
   * @param {string} base  the worker's URL, no trailing slash
   * @param {Stats} stats
   * @param {Verdicts} verdicts
   */
  constructor(base, stats, verdicts) {
    this.base = base;
    this.stats = stats;
    this.verdicts = verdicts;
    /** Requests sent so far (the run stops at its maxRequests). */
    this.requests = 0;
  }

  /**
   * One HTTP request, timed and counted; undefined on a network error.
   * @param {string} kind  what the statistics file it under
   * @param {string} path
   * @param {RequestInit} [init]
   * @returns {Promise<Answer | undefined>}
   */
  async request(kind, path, init = {}) {
    this.requests++;
    const sentAt = now();
    let res;
    let body;
    try {
      res = await fetch(`${this.base}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
      body = await res.text();
    } catch (error) {
      this.stats.record(kind, 'error', now() - sentAt);
      this.verdicts.violate('network_error', { request: kind, error: String(/** @type {Error} */ (error)?.message ?? error) });
      return undefined;
    }
    const receivedAt = now();
    this.stats.record(kind, res.status, receivedAt - sentAt);
    if (res.status >= 500) this.verdicts.violate('5xx', { request: kind, status: res.status, body: body.slice(0, 200) });
    let json;
    try {
      json = body === '' ? undefined : JSON.parse(body);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, sentAt, receivedAt };
  }

  /**
   * A POST of form fields; with the admin key unless `admin` is false.
   * @param {Record<string, string>} fields
   * @param {boolean} [admin]
   * @returns {RequestInit}
   */
  static form(fields, admin = true) {
    return {
      method: 'POST',
      headers: { ...(admin ? ADMIN : {}), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    };
  }

  /**
   * An admin POST with a JSON body.
   * @param {unknown} body
   * @returns {RequestInit}
   */
  static adminJson(body) {
    return { method: 'POST', headers: ADMIN, body: JSON.stringify(body) };
  }
}
