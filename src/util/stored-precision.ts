/**
 * Rounding to the prediction log's stored precision, 6 significant digits, without going through
 * a string: the server rounds 18 numbers per monitored prediction. The result is the number
 * `Number(value.toPrecision(6))` gives (compact() in src/model/evaluate.ts), bit for bit
 * (test/monitor-fast-path.test.ts compares them).
 */

/** 10^k for k = 0..22: every one exactly representable, so m / 10^k is correctly rounded. */
const POWERS_OF_TEN = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Closer than this to a rounding tie, the scaled product may sit on the wrong side: ask toPrecision. */
const TIE_MARGIN = 1e-6;

/**
 * toPrecision(6) picks the integer n in [1e5, 1e6] nearest to |value| * 10^k (ties up), and Number()
 * then gives the double nearest to n / 10^k, which is what one IEEE division of two exact doubles
 * gives. |value| * 10^k is one rounded product, off from the exact one by far less than
 * TIE_MARGIN, so Math.round() finds the same n unless the product is that close to a tie.
 */
export function toStoredPrecision(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude === 0) return 0;
  const k = 5 - Math.floor(Math.log10(magnitude));
  const scaled = magnitude * POWERS_OF_TEN[k];
  // Outside 1e-17..1e5, non-finite values, near-ties, and a product outside [1e5, 1e6) (log10
  // rounded up to the next integer just below a power of ten): the string route.
  if (!(k >= 0 && k <= 22) || !(scaled >= 1e5 && scaled < 1e6) || Math.abs(scaled - Math.floor(scaled) - 0.5) < TIE_MARGIN) {
    return Number(value.toPrecision(6));
  }
  const rounded = Math.round(scaled) / POWERS_OF_TEN[k];
  return value < 0 ? -rounded : rounded;
}
