// @ts-check
// Seeds N denylist entries shaped like killswitch's real `token:` KV keys
// (src/revocation/storage-keys.ts: `token:` + base64url(SHA-256(JSON.stringify([sub, iss, tokenId]))))
// into a local persistence directory that `wrangler dev --persist-to <dir>` then reads.
//
// Why not `wrangler kv bulk put --local`: it writes one key at a time (one blob file plus one
// SQLite row each, through Miniflare's KV object); measured here at ~300–900 keys/s, i.e.
// 2–5 minutes for 100k. Seeding from inside a worker is no faster. So the seeded directory is
// cached under bench/.cache/ and reused by later runs (entries expire in a year).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';

export const DENYLIST_ISSUER = 'https://es256.bench.killswitch.local';
// Same namespace id as wrangler.toml's REVOCATIONS binding: wrangler dev keys local KV by id.
export const KV_NAMESPACE_ID = '00000000000000000000000000000000';

/**
 * @param {string} sub
 * @param {string | null} iss
 * @param {string} tokenId
 */
export function tokenKvKey(sub, iss, tokenId) {
  return `token:${createHash('sha256')
    .update(JSON.stringify([sub, iss, tokenId]))
    .digest('base64url')}`;
}

// Items: { key, value (a string, or base64 of binary with `binary: true`), expiration? }.
const SEED_WORKER = `export default { async fetch(req, env) {
  const items = await req.json();
  const value = (i) => (i.binary ? Uint8Array.from(atob(i.value), (c) => c.charCodeAt(0)).buffer : i.value);
  await Promise.all(items.map((i) => env.KV.put(i.key, value(i), i.expiration ? { expiration: i.expiration } : undefined)));
  return new Response(String(items.length));
} }`;

/**
 * @typedef {{ key: string, value: string, binary?: boolean, expiration?: number }} SeedItem
 * @typedef {{ put(items: SeedItem[]): Promise<number>, dispose(): Promise<void> }} SeedKv
 */

/**
 * The REVOCATIONS namespace of a local persistence directory (`wrangler dev --persist-to
 * <stateDir>` reads it), written through Miniflare's own KV.
 * @param {string} stateDir
 * @returns {Promise<SeedKv>}
 */
export async function openSeedKv(stateDir) {
  const mf = new Miniflare({
    modules: true,
    script: SEED_WORKER,
    defaultPersistRoot: join(stateDir, 'v3'),
    kvNamespaces: { KV: KV_NAMESPACE_ID },
  });
  await mf.ready;
  return {
    async put(items) {
      const res = await mf.dispatchFetch('http://seed/', { method: 'POST', body: JSON.stringify(items) });
      return Number(await res.text());
    },
    dispose: () => mf.dispose(),
  };
}

/**
 * The cached directory's manifest, or undefined when absent or expired.
 * @param {string} dir
 * @returns {{ count: number, issuer: string, createdAt: number, expiresAt: number, seedMs: number } | undefined}
 */
export function readManifest(dir) {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    if (manifest.expiresAt < Date.now() / 1000 + 86400) return undefined;
    return manifest;
  } catch {
    return undefined;
  }
}

/**
 * Writes `count` entries (or as many as fit before `deadlineMs`) into `<dir>/state/v3/kv`.
 * The manifest is written only when the whole count landed.
 * @param {string} dir
 * @param {number} count
 * @param {{ deadlineMs?: number, log?: (message: string) => void }} [options]
 * @returns {Promise<{ count: number, ms: number }>}
 */
export async function seedDenylist(dir, count, { deadlineMs = Infinity, log = () => {} } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const now = Math.floor(started / 1000);
  const exp = now + 365 * 86400;
  const kv = await openSeedKv(join(dir, 'state'));
  let written = 0;
  try {
    const batch = 500;
    let next = 0;
    /** @param {number} from @param {number} to */
    const makeBatch = (from, to) => {
      const items = [];
      for (let i = from; i < to; i++) {
        items.push({
          key: tokenKvKey(`denied-user-${i % 5000}`, DENYLIST_ISSUER, randomUUID()),
          value: JSON.stringify({ revokedAt: now, exp }),
          expiration: exp + 30,
        });
      }
      return items;
    };
    let lastLog = Date.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < count && Date.now() < deadlineMs) {
          const from = next;
          next = Math.min(count, next + batch);
          const landed = await kv.put(makeBatch(from, next)); // not `written += await …`: that loses updates
          written += landed;
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            log(`  denylist seeding: ${written}/${count} (${Math.round(written / ((Date.now() - started) / 1000))}/s)`);
          }
        }
      }),
    );
  } finally {
    await kv.dispose();
  }
  const ms = Date.now() - started;
  if (written >= count) {
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ count: written, issuer: DENYLIST_ISSUER, createdAt: now, expiresAt: exp, seedMs: ms }, null, 2),
    );
  }
  return { count: written, ms };
}

// CLI: node bench/lib/denylist.mjs <dir> <count>
if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, count] = process.argv.slice(2);
  const result = await seedDenylist(dir, Number(count), { log: console.log });
  console.log(JSON.stringify(result));
}
