/** The smallest table: 16 slots (8 entries before the first rebuild). */
const MIN_SLOTS = 16;

/**
 * An open-addressing hash table from 64-bit fingerprints to a few uint32 columns, in typed
 * arrays: a million entries cost tens of megabytes, not the hundreds a Map of objects would.
 * Fingerprint (0, 0) marks an empty slot, so it is stored as (0, 1): a collision at worst.
 * Entries are never deleted one by one; `rebuild` drops the expired ones when the table fills,
 * and sizes the new table from the live ones: the footprint follows the live set, not the
 * entries ever inserted.
 */
export class FingerprintTable {
  private keys: Uint32Array;
  private values: Uint32Array;
  private mask: number;
  private count = 0;

  /** `untilColumn`: the column holding the NumericDate after which an entry is dropped; `capacity`: entries to make room for. */
  constructor(
    readonly columns: number,
    private readonly untilColumn: number,
    capacity = 0,
  ) {
    const slots = FingerprintTable.slotsFor(capacity);
    this.keys = new Uint32Array(slots * 2);
    this.values = new Uint32Array(slots * columns);
    this.mask = slots - 1;
  }

  /**
   * A power of two with room for `entries` at a load factor of at most 1/2, and at least
   * MIN_SLOTS: an empty mirror costs a few hundred bytes (thousands of isolates build one each,
   * and again on every reset), and the table doubles as entries come.
   */
  static slotsFor(entries: number): number {
    let slots = MIN_SLOTS;
    while (slots < entries * 2) slots *= 2;
    return slots;
  }

  /** Bytes one table of `entries` entries takes (for the memory budget). */
  static bytesFor(entries: number, columns: number): number {
    return FingerprintTable.slotsFor(entries) * 4 * (2 + columns);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** The slot of (hi, lo), or -1. */
  find(hi: number, lo: number): number {
    if (hi === 0 && lo === 0) lo = 1;
    let slot = (Math.imul(hi ^ lo, 0x9e3779b1) >>> 0) & this.mask;
    for (;;) {
      const h = this.keys[slot * 2]!;
      const l = this.keys[slot * 2 + 1]!;
      if (h === 0 && l === 0) return -1;
      if (h === hi && l === lo) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  value(slot: number, column: number): number {
    return this.values[slot * this.columns + column]!;
  }

  /** Merges `row` into the entry of (hi, lo) column by column with max: re-applying a state changes nothing. */
  mergeMax(hi: number, lo: number, row: readonly number[], nowSeconds: number): void {
    if ((this.count + 1) * 2 > this.keys.length / 2 && this.find(hi, lo) < 0) this.rebuild(nowSeconds);
    const base = this.claim(hi, lo) * this.columns;
    for (let c = 0; c < this.columns; c++) {
      const v = row[c] ?? 0;
      if (v > this.values[base + c]!) this.values[base + c] = v;
    }
  }

  /**
   * Bulk load (a snapshot): `count` rows of `stride` words, fingerprint (hi, lo) first, then
   * this table's columns; rows expired at `nowSeconds` are skipped. Max-merged like mergeMax;
   * the caller sized the table for the live rows (liveRows).
   */
  load(rows: Uint32Array, stride: number, count: number, nowSeconds: number): void {
    const { columns, untilColumn } = this;
    for (let row = 0, at = 0; row < count; row++, at += stride) {
      if (rows[at + 2 + untilColumn]! <= nowSeconds) continue;
      const base = this.claim(rows[at]!, rows[at + 1]!) * columns;
      for (let c = 0; c < columns; c++) {
        const v = rows[at + 2 + c]!;
        if (v > this.values[base + c]!) this.values[base + c] = v;
      }
    }
  }

  /** How many of `count` rows laid out as for `load` are unexpired at `nowSeconds`. */
  static liveRows(rows: Uint32Array, stride: number, count: number, untilColumn: number, nowSeconds: number): number {
    let live = 0;
    for (let at = 2 + untilColumn, row = 0; row < count; row++, at += stride) if (rows[at]! > nowSeconds) live++;
    return live;
  }

  /**
   * Drops the expired entries, then re-inserts the live ones into a table sized for them and
   * an eighth as many again: the size follows the live set (it shrinks too), at least live/8
   * inserts come before the next rebuild (O(1) per insert), and a table of a million live
   * entries takes no more slots than a snapshot load gives it.
   */
  rebuild(nowSeconds: number): void {
    const { keys, values, columns, untilColumn } = this;
    const slotCount = keys.length / 2;
    let live = 0;
    for (let slot = 0; slot < slotCount; slot++) {
      if ((keys[slot * 2] !== 0 || keys[slot * 2 + 1] !== 0) && values[slot * columns + untilColumn]! > nowSeconds) live++;
    }
    const slots = FingerprintTable.slotsFor(live + (live >> 3) + 1);
    this.keys = new Uint32Array(slots * 2);
    this.values = new Uint32Array(slots * columns);
    this.mask = slots - 1;
    this.count = 0;
    for (let slot = 0; slot < slotCount; slot++) {
      const hi = keys[slot * 2]!;
      const lo = keys[slot * 2 + 1]!;
      if (hi === 0 && lo === 0) continue;
      if (values[slot * columns + untilColumn]! <= nowSeconds) continue;
      this.values.set(values.subarray(slot * columns, slot * columns + columns), this.claim(hi, lo) * columns);
    }
  }

  /** The slot of (hi, lo), taken for it if it was free. The caller keeps the load under 1/2. */
  private claim(hi: number, lo: number): number {
    if (hi === 0 && lo === 0) lo = 1;
    let slot = (Math.imul(hi ^ lo, 0x9e3779b1) >>> 0) & this.mask;
    for (;;) {
      const h = this.keys[slot * 2]!;
      const l = this.keys[slot * 2 + 1]!;
      if (h === hi && l === lo) return slot;
      if (h === 0 && l === 0) {
        this.keys[slot * 2] = hi;
        this.keys[slot * 2 + 1] = lo;
        this.count++;
        return slot;
      }
      slot = (slot + 1) & this.mask;
    }
  }
}

/** (hi, lo) of a 16-hex-digit fingerprint. */
export function fingerprintWords(fp: string): readonly [number, number] {
  return [parseInt(fp.slice(0, 8), 16) >>> 0, parseInt(fp.slice(8, 16), 16) >>> 0];
}
