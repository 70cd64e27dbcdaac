/**
 * Where machines are and how far apart: nine regions (the Durable Object location hints plus the
 * continents Cloudflare has locations on), round trips between them in the 20–300 ms range
 * published inter-continental latencies give, and locations spread over regions roughly as
 * Cloudflare's ~330 cities are.
 */
export const REGIONS = ['wnam', 'enam', 'sam', 'weur', 'eeur', 'me', 'afr', 'apac', 'oc'] as const;
export type Region = (typeof REGIONS)[number];

/** Share of locations per region (of 330: 30, 50, 30, 60, 40, 20, 30, 50, 20). */
const WEIGHTS: Record<Region, number> = { wnam: 30, enam: 50, sam: 30, weur: 60, eeur: 40, me: 20, afr: 30, apac: 50, oc: 20 };

/** Round trips in ms between regions (upper triangle; the diagonal is SAME_REGION_RTT_MS). */
const RTT: Partial<Record<`${Region}-${Region}`, number>> = {
  'wnam-enam': 70, 'wnam-sam': 160, 'wnam-weur': 150, 'wnam-eeur': 180, 'wnam-me': 230, 'wnam-afr': 260, 'wnam-apac': 130, 'wnam-oc': 160,
  'enam-sam': 120, 'enam-weur': 80, 'enam-eeur': 110, 'enam-me': 170, 'enam-afr': 220, 'enam-apac': 200, 'enam-oc': 220,
  'sam-weur': 200, 'sam-eeur': 230, 'sam-me': 280, 'sam-afr': 300, 'sam-apac': 280, 'sam-oc': 300,
  'weur-eeur': 40, 'weur-me': 100, 'weur-afr': 150, 'weur-apac': 230, 'weur-oc': 280,
  'eeur-me': 80, 'eeur-afr': 170, 'eeur-apac': 200, 'eeur-oc': 280,
  'me-afr': 150, 'me-apac': 130, 'me-oc': 200,
  'afr-apac': 250, 'afr-oc': 280,
  'apac-oc': 120,
}; // prettier-ignore

export const SAME_REGION_RTT_MS = 20;

/** A request's `cf` continent (and longitude, for North America) at a location of each region. */
export const REGION_CF: Record<Region, { continent: string; longitude?: string }> = {
  wnam: { continent: 'NA', longitude: '-122.4' },
  enam: { continent: 'NA', longitude: '-74.0' },
  sam: { continent: 'SA' },
  weur: { continent: 'EU' },
  eeur: { continent: 'EU' },
  me: { continent: 'AS' },
  afr: { continent: 'AF' },
  apac: { continent: 'AS' },
  oc: { continent: 'OC' },
};

export function rttMs(a: Region, b: Region): number {
  if (a === b) return SAME_REGION_RTT_MS;
  const rtt = RTT[`${a}-${b}`] ?? RTT[`${b}-${a}`];
  if (rtt === undefined) throw new Error(`no round trip for ${a}-${b}`);
  return rtt;
}

/** The region of each of `count` locations, in proportion to WEIGHTS (largest remainder). */
export function locationRegions(count: number): Region[] {
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  const shares = REGIONS.map((region) => ({ region, exact: (WEIGHTS[region] * count) / total }));
  const counts = shares.map((share) => Math.floor(share.exact));
  const byRemainder = shares.map((share, i) => ({ i, rest: share.exact - counts[i]! })).sort((a, b) => b.rest - a.rest);
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < count; k++) counts[byRemainder[k]!.i]!++;
  return REGIONS.flatMap((region, i) => Array.from({ length: counts[i]! }, () => region));
}
