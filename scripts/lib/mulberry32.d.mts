/** scripts/lib/mulberry32.mjs, for TypeScript importers (sim/). */
export function mulberry32(seed: number): () => number;
