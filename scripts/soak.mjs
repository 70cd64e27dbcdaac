#!/usr/bin/env node
// @ts-check
// Soak test (issue 7, item 2): starts the real worker with `wrangler dev` on 127.0.0.1 and drives
// mixed load at it for a while — verifies (cached and ?strict=1) over a pool of tokens, token
// revokes (RFC 7009), user revokes, token-service sessions, refreshes and refresh replays — while
// checking, request by request, the promises of SPEC §4.1 and §6:
//
//   - no token is accepted by a verify sent after its revocation was acknowledged (strict mode,
//     and cached mode too: wrangler dev is one location, where KV reads its own writes);
//   - a user revoke refuses every token of that user issued before the ack;
//   - the ECDSA-malleated twin (r, n − s) of a revoked token is refused as well;
//   - a replayed (already rotated) refresh token is refused, and so is every later refresh of its
//     session; a refresh of a session ended by a user revoke is refused;
//   - no 5xx, no network error; no token, refresh token or admin key in the worker's output;
//   - the worker isolate's JS heap is stable: read through wrangler dev's V8 inspector (Chrome
//     DevTools Protocol: Runtime.getHeapUsage every 2 s, HeapProfiler.collectGarbage before the
//     two readings that are judged), the post-GC used heap at the end of the run may not exceed
//     the post-GC used heap after warm-up by more than 50 % *and* more than 8 MiB. The baseline
//     is taken with the load paused for a moment (no request in flight), the end after the load.
//     If the inspector cannot be reached, the heap is "not measured" (with the reason) and there
//     is no memory verdict. workerd's RSS (VmRSS summed over the workerd processes) is reported
//     for information only: it grows ~30–40 KB per request whatever the route, which is wrangler
//     dev's own stack and not the worker (docs/security.md, "The soak").
// It also counts "wrongly refused" (a token the model says must be accepted, refused): a
// correctness bug rather than a security one, but a bug, so it fails the run too.
//
//   npm run soak                       # 60 s
//   npm run soak -- --seconds 15 --concurrency 24 --json
//
// Exits 0 when every invariant held, 1 on any violation, 2 when the worker could not be started.
// As a module: `import { runSoak } from './scripts/soak.mjs'` (test/e2e/soak.test.ts).
//
// The pieces, in scripts/soak/: run.mjs (the phases of runSoak), load.mjs (the request mix and
// the concurrent loops), token-actions.mjs and session-actions.mjs (each action, judged against
// model.mjs), client.mjs (timed requests), memory.mjs with inspector.mjs and rss.mjs (heap and
// RSS), verdicts.mjs and stats.mjs (what is counted), report.mjs (the text report), types.d.ts.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine } from './lib/command-line.mjs';
import { formatSummary } from './soak/report.mjs';
import { runSoak } from './soak/run.mjs';

export { formatSummary, runSoak };

// ---- command line ----------------------------------------------------------------------------

async function main() {
  const usage = 'usage: npm run soak -- [--seconds 60] [--concurrency 32] [--users 40] [--max-requests N] [--json]';
  const { values, integer } = commandLine(usage, {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '32' },
    users: { type: 'string', default: '40' },
    'max-requests': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const controller = new AbortController();
  // Ctrl-C ends the load early; runSoak's finally stops wrangler dev. A second one exits at once.
  process.once('SIGINT', () => {
    console.error('\nSIGINT: stopping…');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  process.once('SIGTERM', () => controller.abort());
  let summary;
  try {
    summary = await runSoak({
      seconds: integer('seconds', 1, 86_400),
      concurrency: integer('concurrency', 1, 256),
      users: integer('users', 1, 10_000),
      maxRequests: values['max-requests'] === undefined ? undefined : integer('max-requests', 1, 1e9),
      signal: controller.signal,
      log: (line) => console.error(line),
    });
  } catch (error) {
    console.error(`soak: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  }
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  process.exitCode = summary.ok && !controller.signal.aborted ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
