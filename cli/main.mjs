// @ts-check
/**
 * killswitch CLI: the program, its global options and exit codes. The commands are in
 * commands.mjs and ssf-commands.mjs; every command that talks to the worker goes through Client
 * (client.mjs); everything written to stdout/stderr goes through the session's `write`
 * (session.mjs), which redacts the admin key as a last line of defence.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DEFAULT_RETRIES } from './client.mjs';
import { addAuditCommand, addKeyCommands, addRevokeCommands, addTokenCommands, addUserCommands, addVerifyCommand } from './commands.mjs';
import { CliError, EXIT } from './errors.mjs';
import { createCli } from './session.mjs';
import { addSsfCommands } from './ssf-commands.mjs';

/** @import { CliIo } from './session.mjs' */

const VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

/**
 * @param {string[]} argv process.argv
 * @param {CliIo} [io]
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, io = {}) {
  const cli = createCli(argv, io);
  const program = new Command('killswitch')
    .description('Operate a killswitch worker: verify and revoke tokens, read audit events, make keys.')
    .version(VERSION, '-V, --version')
    .option('--url <url>', 'the worker, e.g. https://killswitch.example.com (default: $KILLSWITCH_URL)')
    .option('--admin-key <key>', 'admin key (default: $KILLSWITCH_ADMIN_KEY; prefer the variable: flags land in shell history)')
    .option('--json', 'print JSON on stdout (errors as JSON on stderr)')
    .option('-v, --verbose', 'log each request on stderr: method, URL, status, time (never keys or tokens)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '10000')
    .option('--retries <n>', 'tries again on 503, 429 or a failed connection, with backoff, at most this often', String(DEFAULT_RETRIES))
    .exitOverride()
    .configureOutput({
      writeOut: (text) => cli.stdout.write(cli.redact(text)),
      writeErr: (text) => cli.stderr.write(cli.redact(text)),
      outputError: (text, writeErr) =>
        writeErr(cli.jsonMode ? `${JSON.stringify({ error: 'usage', message: text.replace(/^error: /, '').trim() })}\n` : text),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok; 1 token not active (verify); 2 usage or configuration; 3 worker unreachable;
            4 admin key refused (401); 5 request refused (400/404/413); 6 worker error (5xx).
A token argument may be - to read it from stdin, e.g.  pbpaste | killswitch verify -`,
    );
  for (const add of [
    addKeyCommands,
    addTokenCommands,
    addVerifyCommand,
    addRevokeCommands,
    addUserCommands,
    addAuditCommand,
    addSsfCommands,
  ]) {
    add(program, cli);
  }

  try {
    await program.parseAsync(argv);
    return cli.resultCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.OK; // --help, --version
      return EXIT.USAGE;
    }
    if (error instanceof CliError) {
      cli.write(
        cli.stderr,
        cli.jsonMode ? JSON.stringify({ ...error.details, message: error.message, exit: error.code }) : `killswitch: ${error.message}`,
      );
      return error.code;
    }
    cli.write(cli.stderr, `killswitch: unexpected error: ${/** @type {Error | undefined} */ (error)?.stack ?? error}`);
    return EXIT.SERVER;
  }
}
