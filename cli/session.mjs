// @ts-check
/**
 * What every CLI command shares for one run: the streams, the environment, `write` (which
 * redacts the admin key and the transmitter token as a last line of defence: they are never put
 * in a message to begin with), --json mode, the exit code, and the global options' client.
 */
import { baseUrl, Client } from './client.mjs';
import { EXIT, usageError } from './errors.mjs';

/**
 * A record inside the worker's JSON answer (a stream, an audit event…): as loosely typed as the
 * answer itself (see Answer in client.mjs).
 * @typedef {Record<string, any>} WorkerRecord
 */
/** @typedef {import('commander').OptionValues} Options */
/**
 * @typedef {object} CliIo
 * @property {NodeJS.ProcessEnv} [env]
 * @property {NodeJS.WritableStream} [stdout]
 * @property {NodeJS.WritableStream & { isTTY?: boolean }} [stderr]
 * @property {NodeJS.ReadableStream & { isTTY?: boolean }} [stdin]
 */
/**
 * @typedef {object} Cli
 * @property {NodeJS.ProcessEnv} env
 * @property {NodeJS.WritableStream} stdout
 * @property {NodeJS.WritableStream & { isTTY?: boolean }} stderr
 * @property {NodeJS.ReadableStream & { isTTY?: boolean }} stdin
 * @property {boolean} jsonMode  --json: JSON on stdout, errors as JSON on stderr
 * @property {number} resultCode  the exit code of a command that completed (verify: 1 for a refused token)
 * @property {(text: unknown) => string} redact
 * @property {(stream: NodeJS.WritableStream, text: string) => void} write  one line, redacted
 * @property {(data: unknown, human?: string) => void} emit  `human` (a string) or, with --json, `data` as one line of JSON
 * @property {() => Promise<string>} readStdin
 * @property {(value: string | undefined) => Promise<string>} tokenArgument  the token itself, or `-` for stdin (keeps it out of shell history)
 * @property {(command: import('commander').Command) => { options: Options, client: () => Client }} context  global options and the client they describe
 */

/**
 * The admin key as it may appear in argv (`--admin-key K`, `--admin-key=K`) and the environment.
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 */
function adminKeysIn(argv, env) {
  const keys = [env.KILLSWITCH_ADMIN_KEY];
  argv.forEach((arg, i) => {
    if (arg === '--admin-key') keys.push(argv[i + 1]);
    else if (arg.startsWith('--admin-key=')) keys.push(arg.slice('--admin-key='.length));
  });
  return /** @type {string[]} */ (keys.filter((k) => typeof k === 'string' && k.length >= 4));
}

/**
 * @param {string[]} argv  process.argv
 * @param {CliIo} io
 * @returns {Cli}
 */
export function createCli(argv, io) {
  const env = io.env ?? process.env;
  // The transmitter's management token comes only from the environment, and is redacted like the admin key.
  const transmitterSecret = env.KILLSWITCH_TRANSMITTER_TOKEN;
  const secrets = [
    ...adminKeysIn(argv, env),
    ...(typeof transmitterSecret === 'string' && transmitterSecret.length >= 4 ? [transmitterSecret] : []),
  ];
  /** @type {Cli} */
  const cli = {
    env,
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    jsonMode: argv.includes('--json'),
    resultCode: EXIT.OK,
    redact: (text) => secrets.reduce((t, key) => t.split(key).join('[redacted]'), String(text)),
    write: (stream, text) => {
      stream.write(cli.redact(text.endsWith('\n') ? text : `${text}\n`));
    },
    emit: (data, human) => cli.write(cli.stdout, cli.jsonMode || human === undefined ? JSON.stringify(data) : human),
    readStdin: async () => {
      if (cli.stdin.isTTY) cli.write(cli.stderr, 'reading from stdin; end with Ctrl-D');
      let data = '';
      for await (const chunk of cli.stdin) data += chunk;
      return data.trim();
    },
    tokenArgument: async (value) => {
      const token = value === '-' ? await cli.readStdin() : value?.trim();
      if (!token) throw usageError('no token given (pass it as an argument, or - to read it from stdin)');
      return token;
    },
    context: (command) => {
      const options = command.optsWithGlobals();
      cli.jsonMode = options.json === true;
      const timeoutMs = Number(options.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw usageError('--timeout must be a positive integer (milliseconds)');
      const retries = Number(options.retries);
      if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw usageError('--retries must be an integer from 0 to 10');
      const fromFlag = options.adminKey !== undefined;
      const client = () =>
        new Client({
          url: baseUrl(options.url ?? env.KILLSWITCH_URL),
          adminKey: fromFlag ? options.adminKey : env.KILLSWITCH_ADMIN_KEY,
          adminKeySource: fromFlag ? '--admin-key' : 'KILLSWITCH_ADMIN_KEY',
          timeoutMs,
          retries,
          verbose: (line) => {
            if (options.verbose) cli.write(cli.stderr, line);
          },
        });
      return { options, client };
    },
  };
  return cli;
}
