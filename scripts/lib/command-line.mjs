// The command line of the repository's small scripts (npm run token, npm run soak): parse with
// node:util parseArgs, answer --help, and turn every mistake into the usage text and exit 2.
import { parseArgs } from 'node:util';

/**
 * Returns `{ values, fail, integer }`: `fail(message)` prints it with the usage and exits 2;
 * `integer(name, min, max)` reads `--name` as a whole number in [min, max] or fails.
 * @param {string} usage
 * @param {Record<string, import('node:util').ParseArgsOptionDescriptor>} options
 * @returns {{
 *   values: Record<string, string | boolean | string[] | boolean[] | undefined>,
 *   fail: (message: string) => never,
 *   integer: (name: string, min?: number, max?: number) => number,
 * }}
 */
export function commandLine(usage, options) {
  const fail = (message) => {
    console.error(`${message}\n${usage}`);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (error) {
    fail(error.message);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const integer = (name, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const text = values[name];
    const n = /^\d+$/.test(text ?? '') ? Number(text) : NaN;
    if (!(n >= min && n <= max)) fail(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  return { values, fail, integer };
}
