/**
 * Survival function of the two-sided one-sample Kolmogorov statistic D_n, P(D_n >= x) —
 * scipy's `kstwo.sf(x, n)`, which ks_2samp uses for large samples. No npm package provides
 * it (jstat has none; @stdlib/stats-kstest keeps its CDF internal and one-sample only), so it
 * follows the same published algorithm choice as scipy (Simard & L'Ecuyer 2011):
 * - exact edge cases (Ruben & Gambino) for n*x <= 1 and n*x >= n - 1;
 * - 2 * Smirnov's one-sided tail (Birnbaum & Tingey's exact sum) when x >= 0.5 or when the
 *   tail is small (n*x^2 >= 2.2 for n > 140, > 4 for n <= 140);
 * - otherwise 1 - CDF, the CDF from the Durbin matrix (Marsaglia, Tsang & Wang 2003) when it
 *   is small enough, else the Pelz-Good asymptotic series. (scipy uses Pomeranz's recursion
 *   for n <= 140 and 0.754693 < n*x^2 <= 4; the Durbin matrix is exact there too.)
 */

export function kolmogorovSurvival(n: number, x: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Kolmogorov distribution needs an integer n >= 1, got ${n}`);
  if (Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    // P(D_n < x) = n!/n^n * (2t - 1)^n for 1/(2n) <= x <= 1/n.
    let cdf = 1;
    for (let i = 1; i <= n; i++) cdf *= (i / n) * (2 * t - 1);
    return 1 - cdf;
  }
  if (t >= n - 1) return 2 * Math.pow(1 - x, n);
  if (x >= 0.5) return 2 * smirnovSurvival(n, x);
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 4) return 1 - durbinMatrixCdf(n, x);
    return 2 * smirnovSurvival(n, x);
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return 2 * smirnovSurvival(n, x);
  if (n <= 100000 && n * Math.pow(x, 1.5) <= 1.4) return 1 - durbinMatrixCdf(n, x);
  return 1 - pelzGoodCdf(n, x);
}

/**
 * One-sided Smirnov tail P(D_n^+ >= x), Birnbaum & Tingey (1951):
 * x * sum_{j=0}^{floor(n(1-x))} C(n,j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1).
 * Every term is positive, so the sum is stable; terms are formed in logarithms.
 */
export function smirnovSurvival(n: number, x: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  // Terms with j >= n(1 - x) vanish ((1 - x - j/n)^(n-j) = 0), so rounding here is harmless.
  const last = Math.floor(n * (1 - x));
  const logX = Math.log(x);
  let logBinomial = 0;
  let total = 0;
  for (let j = 0; j <= last; j++) {
    if (j > 0) logBinomial += Math.log((n - j + 1) / j);
    const remaining = 1 - x - j / n;
    if (remaining <= 0) break;
    total += Math.exp(logBinomial + (n - j) * Math.log(remaining) + (j - 1) * Math.log(x + j / n) + logX);
  }
  return Math.min(total, 1);
}

const SCALE_EXPONENT = 128;
const SCALE_UP = Math.pow(2, SCALE_EXPONENT);
const SCALE_DOWN = Math.pow(2, -SCALE_EXPONENT);

/**
 * P(D_n < d) by Durbin's matrix formula as Marsaglia, Tsang & Wang (2003) evaluate it:
 * with k = ceil(n d), h = k - n d, the (2k-1)-square matrix H, P = n!/n^n * (H^n)[k-1][k-1].
 * Powers are rescaled by 2^128 to stay in range.
 */
function durbinMatrixCdf(n: number, d: number): number {
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const size = 2 * k - 1;
  const inverseFactorial = new Float64Array(size + 1);
  inverseFactorial[0] = 1;
  for (let i = 1; i <= size; i++) inverseFactorial[i] = inverseFactorial[i - 1] / i;

  let matrix: Float64Array = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      if (i - j + 1 >= 0) matrix[i * size + j] = inverseFactorial[i - j + 1];
    }
  }
  for (let i = 0; i < size; i++) {
    const edge = (1 - Math.pow(h, i + 1)) * inverseFactorial[i + 1];
    matrix[i * size] = edge; // first column
    matrix[(size - 1) * size + (size - 1 - i)] = edge; // last row, mirrored
  }
  matrix[(size - 1) * size] = (1 - 2 * Math.pow(h, size) + Math.pow(Math.max(0, 2 * h - 1), size)) * inverseFactorial[size];

  let power: Float64Array = identity(size);
  let powerExponent = 0;
  let matrixExponent = 0;
  for (let remaining = n; remaining > 0; remaining = Math.floor(remaining / 2)) {
    if (remaining % 2 === 1) {
      power = multiply(power, matrix, size);
      powerExponent += matrixExponent;
    }
    matrix = multiply(matrix, matrix, size);
    matrixExponent *= 2;
    if (Math.abs(matrix[(k - 1) * size + (k - 1)]) > SCALE_UP) {
      for (let i = 0; i < matrix.length; i++) matrix[i] *= SCALE_DOWN;
      matrixExponent += SCALE_EXPONENT;
    }
  }
  let p = power[(k - 1) * size + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < SCALE_DOWN) {
      p *= SCALE_UP;
      powerExponent -= SCALE_EXPONENT;
    }
  }
  return Math.min(Math.max(p * Math.pow(2, powerExponent), 0), 1);
}

function identity(size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) out[i * size + i] = 1;
  return out;
}

function multiply(a: Float64Array, b: Float64Array, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let l = 0; l < size; l++) {
      const factor = a[i * size + l];
      if (factor === 0) continue;
      for (let j = 0; j < size; j++) out[i * size + j] += factor * b[l * size + j];
    }
  }
  return out;
}

/**
 * Pelz & Good (1976) asymptotic series for P(D_n <= x), z = x sqrt(n):
 * K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^1.5, each K in its small-z (theta-function) form.
 */
function pelzGoodCdf(n: number, x: number): number {
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const pi2 = Math.PI * Math.PI;
  const pi4 = pi2 * pi2;
  const pi6 = pi4 * pi2;
  const logQ = -pi2 / 8 / z2;
  if (logQ < -708) return 0;
  const q = Math.exp(logQ);
  const sqrt2Pi = Math.sqrt(2 * Math.PI);

  const terms = [0, 0, 0, 0];
  const maxK = Math.ceil((16 * z) / Math.PI);
  for (let k = maxK; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qPower = Math.pow(q, 8 * k);
    const coefficients = [
      1,
      -z2 + (pi2 / 4) * m2,
      6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * pi2 * m2) / 4 + (pi4 * (1 - 2 * z2) * m4) / 16,
      -30 * z6 - 90 * z6 * z2 + (pi2 * (135 * z4 - 96 * z6) * m2) / 4 + (pi4 * (212 * z4 - 60 * z2) * m4) / 16 + (pi6 * (5 - 30 * z2) * m6) / 64,
    ];
    for (let i = 0; i < 4; i++) terms[i] = terms[i] * qPower + coefficients[i];
  }
  const denominators = [z, 6 * z4, 72 * z6 * z, 6480 * z4 * z6];
  for (let i = 0; i < 4; i++) terms[i] = (terms[i] * q * sqrt2Pi) / denominators[i];

  const q2 = Math.exp(-pi2 / 2 / z2);
  let extra2 = 0;
  let extra3 = 0;
  for (let k = maxK; k >= 1; k--) {
    const k2 = k * k;
    const weight = k2 * Math.pow(q2, k2);
    extra2 += weight;
    extra3 += (3 * z2 - pi2 * k2) * weight;
  }
  terms[2] += (extra2 * pi2 * sqrt2Pi) / (-36 * z2 * z);
  terms[3] += (extra3 * pi2 * sqrt2Pi) / (216 * z6);

  return terms[0] + terms[1] / Math.sqrt(n) + terms[2] / n + terms[3] / Math.pow(n, 1.5);
}
