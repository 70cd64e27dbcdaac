// @ts-check
// Peak memory of writing the feed's KV snapshot (src/feed/feed-snapshot.ts encodeActiveSet) for
// N active rows, a tenth users, next to what it would cost to first load the rows as objects
// (one `{ fp, version, revokedBefore, until }` per row, what `toArray()` of the SQL rows gives).
// The rows come one at a time, as the primary's SQLite cursor (`raw()`) hands them over: a fresh
// array and hex string per row, nothing kept. Heap is sampled every 10,000 rows; the snapshot
// buffer itself is outside the heap (arrayBuffers).
//   node --expose-gc scripts/snapshot-heap.mjs [rows, default 1000000]
import { importTs } from './lib/import-ts.mjs';
import { getHeapStatistics } from 'node:v8';

const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
if (gc === undefined) throw new Error('run with node --expose-gc');
const rows = Number(process.argv[2] ?? 1_000_000);
const { encodeActiveSet, decodeSnapshot } = /** @type {typeof import('../src/feed/feed-snapshot')} */ (
  await importTs('src/feed/feed-snapshot.ts')
);

const users = Math.floor(rows / 10);
const tokens = rows - users;
const until = Math.floor(Date.now() / 1000) + 3600;
const fp = (/** @type {number} */ i) => (Math.imul(i, 0x9e3779b1) >>> 0).toString(16).padStart(8, '0') + i.toString(16).padStart(8, '0');

let peak = 0;
const sample = (/** @type {number} */ i) => {
  if (i % 10_000 === 0) peak = Math.max(peak, getHeapStatistics().used_heap_size);
};
const baseline = () => {
  gc();
  peak = getHeapStatistics().used_heap_size;
  return peak;
};

/** @type {import('../src/feed/feed-store').ActiveSet} */
const cursor = {
  globalRevokedBefore: 0,
  userCount: users,
  tokenCount: tokens,
  forEachUser(row) {
    for (let i = 0; i < users; i++) {
      const [f, version, revokedBefore, u] = [fp(i), 1, until - 3600, until]; // one raw() row
      row(f, version, revokedBefore, u);
      sample(i);
    }
  },
  forEachToken(row) {
    for (let i = users; i < rows; i++) {
      const [f, u] = [fp(i), until];
      row(f, u);
      sample(i);
    }
  },
};

const streamedBase = baseline();
const buffer = encodeActiveSet(1, Date.now(), cursor);
const streamed = { peakHeapMB: (peak - streamedBase) / 2 ** 20, snapshotMB: buffer.byteLength / 2 ** 20 };
const decoded = decodeSnapshot(buffer);
if (decoded === undefined || decoded.users.length !== users * 5 || decoded.tokens.length !== tokens * 3) throw new Error('bad snapshot');

const objectsBase = baseline();
/** @type {{ fp: string; version: number; revokedBefore: number; until: number }[]} */
const asObjects = [];
for (let i = 0; i < rows; i++) {
  asObjects.push({ fp: fp(i), version: 1, revokedBefore: until - 3600, until });
  sample(i);
}
const objects = { peakHeapMB: (peak - objectsBase) / 2 ** 20, rows: asObjects.length };

const round = (/** @type {number} */ x) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    rows,
    streamedPeakHeapMB: round(streamed.peakHeapMB),
    snapshotBufferMB: round(streamed.snapshotMB),
    rowsAsObjectsPeakHeapMB: round(objects.peakHeapMB),
  }),
);
