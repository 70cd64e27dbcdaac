import { logEvent } from './logger';

/**
 * Log lines of unauthenticated refusals (docs/reference.md §5), rationed per isolate: a flood of
 * forged tokens must cost neither CPU (a `console.log` costs as much as an ES256 verification)
 * nor a billed log event each. Per reason and interval the first REFUSALS_IN_FULL are logged in
 * full; the rest are counted and reported in one `refusals_summary` line. Workers run no timer
 * between requests, so that line is written by the first logged call of this isolate after the
 * interval ended (any route); an isolate evicted before then loses the summary, not the counts,
 * which metrics keep for every request.
 */
export const REFUSAL_INTERVAL_MS = 60_000;
export const REFUSALS_IN_FULL = 10;

export class RefusalLog {
  private intervalStart = -Infinity;
  /** Per reason, the refusals seen in this interval (logged in full or not). */
  private readonly seen = new Map<string, number>();
  private suppressed = 0;

  /** Writes the summary of an interval that has ended, if it held refusals not logged in full. */
  flush(now: number): void {
    if (now < this.intervalStart + REFUSAL_INTERVAL_MS) return;
    if (this.suppressed > 0) {
      const counts: Record<string, number> = {};
      for (const [reason, n] of this.seen) if (n > REFUSALS_IN_FULL) counts[reason] = n - REFUSALS_IN_FULL;
      logEvent('refusals_summary', {
        since: new Date(this.intervalStart).toISOString(),
        intervalMs: now - this.intervalStart,
        suppressed: this.suppressed,
        ...counts,
      });
    }
    this.intervalStart = now;
    this.seen.clear();
    this.suppressed = 0;
  }

  /** Counts one refusal; true when it is still to be logged in full. */
  admit(reason: string): boolean {
    const n = (this.seen.get(reason) ?? 0) + 1;
    this.seen.set(reason, n);
    if (n <= REFUSALS_IN_FULL) return true;
    this.suppressed++;
    return false;
  }
}
