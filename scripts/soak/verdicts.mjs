// @ts-check
// What the soak found: violations by kind (with the first 50 as samples) and the counts of
// what it checked.

export class Verdicts {
  constructor() {
    /** @type {Record<string, number>} */
    this.violationsByKind = {};
    /** @type {Record<string, unknown>[]} */
    this.samples = [];
    this.wronglyRefused = 0;
    this.tokensMinted = 0;
    this.sessionsStarted = 0;
    this.twinChecks = 0;
    this.refusedAsExpected = 0;
    this.acceptedAsExpected = 0;
    /** Verdicts the model could not judge (a revocation in flight, the same second…). */
    this.unclassified = 0;
  }

  /**
   * @param {string} kind  e.g. `revoked_token_accepted_strict`
   * @param {Record<string, unknown>} detail
   */
  violate(kind, detail) {
    this.violationsByKind[kind] = (this.violationsByKind[kind] ?? 0) + 1;
    if (this.samples.length < 50) this.samples.push({ kind, ...detail });
  }

  violations() {
    return Object.values(this.violationsByKind).reduce((a, b) => a + b, 0);
  }
}
