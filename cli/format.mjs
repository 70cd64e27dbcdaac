// @ts-check
/** Human output: times, durations, reason codes. */

// One line per reason code of src/verify/reasons.ts, kept beside it (test/e2e/docs-drift.test.ts
// checks both list the same codes).
import DESCRIPTIONS from '../src/verify/reason-descriptions.json' with { type: 'json' };

/** @type {Readonly<Record<string, string>>} */
const REASONS = DESCRIPTIONS;

/**
 * `expired (past exp + tolerance)`; an unknown code as it came.
 * @param {unknown} reason
 */
export const describeReason = (reason) =>
  typeof reason === 'string' && Object.hasOwn(REASONS, reason) ? `${reason} (${REASONS[reason]})` : String(reason);

/** @param {number} seconds */
export function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/**
 * A NumericDate as ISO-8601 UTC with a relative hint: 2026-11-28T16:55:00Z (in 4m 59s).
 * @param {unknown} numericDate
 * @param {number} [now]
 */
export function when(numericDate, now = Date.now() / 1000) {
  if (typeof numericDate !== 'number' || !Number.isFinite(numericDate) || numericDate <= 0) return 'never';
  const iso = new Date(numericDate * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const delta = numericDate - now;
  return `${iso} (${Math.abs(delta) < 1 ? 'now' : delta > 0 ? `in ${duration(delta)}` : `${duration(delta)} ago`})`;
}

/**
 * Aligned "  label  value" lines; rows whose value is absent are left out.
 * @param {ReadonlyArray<readonly [string, unknown]>} rows
 */
export function fields(rows) {
  const present = rows.filter(([, value]) => value !== undefined && value !== null && value !== '');
  const width = Math.max(0, ...present.map(([label]) => label.length));
  return present.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

/**
 * A plain text table; cells are strings.
 * @param {readonly string[]} header
 * @param {ReadonlyArray<readonly unknown[]>} rows
 */
export function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  /** @param {readonly unknown[]} cells */
  const line = (cells) =>
    cells
      .map((c, i) => String(c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * The user an admin answer names (docs/reference.md §4.2): `00u1…`, or `00u1… (namespace okta)`
 * outside the shared namespace.
 * @param {{ user?: unknown, sub?: unknown, namespace?: unknown }} answer
 */
export const userName = (answer) =>
  `${answer.user ?? answer.sub}${typeof answer.namespace === 'string' ? ` (namespace ${answer.namespace})` : ''}`;
