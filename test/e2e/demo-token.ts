/** A demo-issuer token from scripts/token.mjs (dev/demo.env's issuer), for the e2e tests. */
import { spawn } from 'node:child_process';
import { ROOT } from '../../scripts/lib/wrangler-dev.mjs';

export const mintDemo = (...args: string[]) =>
  new Promise<string>((done, fail) => {
    const child = spawn(process.execPath, ['scripts/token.mjs', ...args], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', (code) => (code === 0 ? done(out.trim()) : fail(new Error(`token.mjs exited ${code}`))));
  });
