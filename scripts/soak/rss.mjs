// @ts-check
import { readdirSync, readFileSync } from 'node:fs';

/**
 * VmRSS (KiB) summed over the workerd processes of process group `pgid` (Linux /proc). Reported
 * for information only: it is mostly wrangler dev's own stack, not the worker.
 * @param {number} pgid
 * @returns {{ kib: number, processes: number } | undefined}
 */
export function workerdRssKiB(pgid) {
  let total = 0;
  let processes = 0;
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid || !comm.startsWith('workerd')) continue;
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      if (rss !== null) {
        total += Number(rss[1]);
        processes++;
      }
    } catch {
      // the process went away between readdir and read
    }
  }
  return processes === 0 ? undefined : { kib: total, processes };
}
