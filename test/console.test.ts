import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
const t = <T,>(p: Promise<T>) => Promise.race([p, new Promise<string>((d) => setTimeout(() => d('timeout'), 4000))]);
describe('console', () => {
  it('serves', { timeout: 30000 }, async () => {
    for (const p of ['/healthz']) {const r = await t(exports.default.fetch('http://ks.test/healthz'));console.log(typeof r);}
    for (const p of ['/admin/index.html', '/admin/', '/admin', '/admin/nope.js']) {
      const r = await t(exports.default.fetch(`http://ks.test${p}`, { redirect: 'manual' }));
      console.log(p, typeof r === 'string' ? r : [r.status, [...r.headers], await r.text()]);
    }
  });
});
