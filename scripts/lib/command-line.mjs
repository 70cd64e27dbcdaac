// @ts-check
// The command line of the repository's small scripts (npm run token, npm run soak): parse with
// node:util parseArgs, answer --help, and turn every mistake into the usage text and exit 2.
import { parseArgs } from 'node:util';

/** @typedef {Record<string, string | boolean | string[] | boolean[] | undefined>} Values */

/**
 * Returns `{ values, fail, integer }`: `fail(message)` prints it with the usage and exits 2;
 * `integer(name, min, max)` reads `--name` as a whole number in [min, max] or fails.
 * @param {string} usage
 * @param {NonNullable<import('node:util').ParseArgsConfig['options']>} options
 * @returns {{
 *   values: Values,
 *   fail: (message: string) => never,
 *   integer: (name: string, min?: number, max?: number) => number,
 * }}
 */
export function commandLine(usage, options) {
  /** @type {(message: string) => never} */
  const fail = (message) => {
    console.error(`${message}\n${usage}`);
    process.exit(2);
  };
  /** @type {Values} */
  let values = {};
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (error) {
    fail(/** @type {Error} */ (error).message);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  /** @type {(name: string, min?: number, max?: number) => number} */
  const integer = (name, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const text = values[name];
    const n = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max)) fail(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  return { values, fail, integer };
}
