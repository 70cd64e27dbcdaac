// @ts-check
// What `npm run deploy:dry-run` warns about in wrangler.toml (cli/dry-run.mjs).

/**
 * Bounded mode's location cache (the feed head, GET /v1/feed pages) is the Cache API, which does
 * nothing on *.workers.dev: without a route (or custom domain) on a zone every busy isolate reads
 * a feed replica itself (docs/consistency.md "Deploying bounded mode").
 * @param {string} toml wrangler.toml's text
 * @returns {string[]}
 */
export function routeWarnings(toml) {
  const code = toml
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('\n');
  if (/^\s*(routes?\s*=|\[\[routes\]\])/m.test(code)) return [];
  return [
    'wrangler.toml has no route: the worker deploys to *.workers.dev only, where the Cache API does nothing, so ' +
      "REVOCATION_MODE=bounded has no location cache and every busy isolate reads a feed replica itself. Add a route or custom domain on your zone (docs/consistency.md 'Deploying bounded mode').",
  ];
}
