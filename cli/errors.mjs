// @ts-check
/** Exit codes of the killswitch CLI (docs/cli.md). Stable: scripts branch on them. */
export const EXIT = Object.freeze({
  OK: 0,
  /** `verify`: the worker answered, and the token is not active (refused). */
  INACTIVE: 1,
  /** Bad arguments or configuration: no URL, no admin key, an unreadable key file. */
  USAGE: 2,
  /** The worker could not be reached: connection refused, DNS, TLS, timeout. */
  UNREACHABLE: 3,
  /** The admin key was refused (401 on an admin route). */
  UNAUTHORIZED: 4,
  /** The worker refused the request: 400 (with its error_description), 404, 413. */
  REJECTED: 5,
  /** The worker failed: 5xx (misconfigured, unavailable) or an answer that is not what the API promises. */
  SERVER: 6,
});

/** An error the CLI reports as one line on stderr, exiting with `code`. */
export class CliError extends Error {
  /** @param {string} message @param {number} code @param {Record<string, unknown>} [details] */
  constructor(message, code, details = {}) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.details = details;
  }
}

/** @param {string} message */
export const usageError = (message) => new CliError(message, EXIT.USAGE, { error: 'usage' });
