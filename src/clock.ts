/**
 * Now, in whole seconds since the epoch: the unit of JWT claims (RFC 7519 NumericDate) and of
 * every instant killswitch stores. One function, so every part agrees on the rounding; it reads
 * Date.now(), so tests move it with vi.setSystemTime.
 */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
