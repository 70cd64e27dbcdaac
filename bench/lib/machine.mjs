// @ts-check
// What the results file says about the machine and the code measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** @returns {number[] | undefined} the 1, 5 and 15 minute load averages (Linux) */
export function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return undefined; // not Linux
  }
}

/** @param {string} root the repository (for node_modules versions) */
export function machineInfo(root) {
  let model = 'unknown';
  try {
    model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc').toString().trim());
  } catch {
    /* fallback */
  }
  /** @param {string} p */
  const version = (p) => {
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')).version;
    } catch {
      return undefined;
    }
  };
  return {
    nproc,
    cpuModel: model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavgAtStart: loadAverage(),
    /** @type {number[] | undefined} */
    loadavgAtEnd: undefined,
    versions: Object.fromEntries(
      ['wrangler', 'workerd', 'autocannon', 'hono', 'jose', '@tsndr/cloudflare-worker-jwt'].map((p) => [p, version(p)]),
    ),
  };
}

/**
 * @param {string} root
 * @returns {{ commit: string, srcDirty: boolean, measuredRef?: { ref: string, commit: string } } | undefined}
 */
export function gitInfo(root) {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root }).toString().trim() !== '';
    return { commit, srcDirty: dirty };
  } catch {
    return undefined;
  }
}
