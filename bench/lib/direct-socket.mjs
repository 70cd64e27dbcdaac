// @ts-check
// The user Worker's own socket under `wrangler dev`, so that load skips the dev proxy.
//
// `wrangler dev` runs two workerd processes: a proxy on the public port (it forwards every
// request, and on two cores caps every target near 1,000 req/s) and the user Worker's own
// workerd, whose entry socket listens on another loopback port that wrangler does not print.
// Linux only: the sockets are found through /proc (the listening inodes of each workerd in
// wrangler's process group), then the candidate whose GET /healthz answers exactly like the
// public port's is taken.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** @typedef {{ url: string, pid: number, port: number }} DirectSocket */

/**
 * Pids of the processes named `comm` in process group `pgid` (/proc/<pid>/stat field 5).
 * @param {number} pgid
 * @param {string} comm
 * @returns {number[]}
 */
function processesInGroup(pgid, comm) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces, so split after its closing parenthesis.
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    if (name === comm && Number(fields[2]) === pgid) out.push(Number(entry));
  }
  return out;
}

/**
 * CPU time (user + system, /proc/<pid>/stat fields 14 and 15) process `pid` has used, in ms
 * (clock ticks of 10 ms: USER_HZ is 100 on Linux).
 * @param {number} pid
 * @returns {number}
 */
export function processCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Loopback TCP ports that process `pid` itself listens on: LISTEN rows of its network
 * namespace's /proc/net/tcp whose socket inode is one of the process's open descriptors.
 * @param {number} pid
 * @returns {number[]}
 */
export function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = [];
  for (const table of ['tcp', 'tcp6']) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9])) continue;
      ports.push(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}

/**
 * @param {string} url
 * @param {number} timeoutMs long for the public port (a busy machine, a Worker's first request)
 * @returns {Promise<string | undefined>} "<status> <body>", or undefined when it does not answer
 */
async function answer(url, timeoutMs) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return `${res.status} ${await res.text()}`;
  } catch {
    return undefined;
  }
}

/**
 * The loopback URL of the user Worker's own workerd, started by `wrangler dev` (the leader of
 * process group `dev.pid`, public proxy URL `dev.url`). Throws, saying why, when none is found.
 * @param {{ pid: number, url: string, name?: string }} dev what startWranglerDev returned
 * @returns {Promise<DirectSocket>}
 */
export async function findUserWorkerSocket(dev) {
  if (!existsSync('/proc/self/net/tcp'))
    throw new Error("finding the user Worker's own socket reads /proc (Linux); here, run the bench with --proxied");
  const publicPort = Number(new URL(dev.url).port);
  const expected = await answer(`${dev.url}/healthz`, 30_000);
  if (expected === undefined) throw new Error(`${dev.name ?? dev.url}: the public port does not answer /healthz`);
  const workerds = processesInGroup(dev.pid, 'workerd');
  // The proxy is the workerd that holds the public port; the user Worker's is another one.
  const users = workerds.filter((pid) => !listeningPorts(pid).includes(publicPort));
  const tried = [];
  for (const pid of users) {
    for (const port of listeningPorts(pid)) {
      const url = `http://127.0.0.1:${port}`;
      const got = await answer(`${url}/healthz`, 10_000); // the inspector's port does not answer HTTP: bounded wait
      tried.push(`${pid}:${port} → ${got?.slice(0, 40) ?? 'no answer'}`);
      if (got === expected) return { url, pid, port };
    }
  }
  throw new Error(
    `${dev.name ?? dev.url}: no user workerd port answers /healthz like ${dev.url} (${expected}); workerd pids ${workerds.join(', ') || 'none'}; tried ${tried.join('; ') || 'nothing'}`,
  );
}
