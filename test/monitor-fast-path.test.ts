/**
 * The monitor's per-prediction fast path gives exactly what the straightforward code gives:
 * imageStats (one pass, lookup tables, no allocation) against the formulas written out,
 * toStoredPrecision against Number(v.toPrecision(6)), and a whole schema-2 log line against the
 * line the old code built (Array.from + compact, Object.fromEntries, JSON.stringify of the merged record).
 */
import { compact } from '../src/model/evaluate';
import { monitorFields } from '../src/monitor/record';
import { toStoredPrecision } from '../src/util/stored-precision';
import { batchImageStats, imageStats, IMAGE_SIGNALS, type ImageStats } from '../src/preprocess/image-stats';
import { formatMonitoredRecord, formatRecord } from '../src/serve/prediction-log';
import { createRandom } from '../src/util/random';

/** The statistics as their definitions read: three passes, a luma array, per-channel loops. */
function referenceImageStats(rgb: Uint8Array, offset = 0): ImageStats {
  const size = 32;
  const n = size * size;
  const weights = [0.299, 0.587, 0.114];
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  const luma = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    let y = 0;
    for (let c = 0; c < 3; c++) {
      const v = rgb[offset + p * 3 + c];
      sum[c] += v;
      sumSq[c] += v * v;
      y += weights[c] * v;
    }
    luma[p] = y;
  }
  const mean = sum.map((s) => s / n);
  const std = sumSq.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c] * mean[c])));
  let brightness = 0;
  for (let p = 0; p < n; p++) brightness += luma[p];
  let laplacian = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const p = y * size + x;
      laplacian += Math.abs(4 * luma[p] - luma[p - 1] - luma[p + 1] - luma[p - size] - luma[p + size]);
    }
  }
  const [mean_r, mean_g, mean_b] = mean;
  const [std_r, std_g, std_b] = std;
  return { mean_r, mean_g, mean_b, std_r, std_g, std_b, brightness: brightness / n, noise: laplacian / ((size - 2) * (size - 2)) };
}

const random = createRandom(20261201);

function randomImage(kind: number): Uint8Array {
  const rgb = new Uint8Array(3072);
  const base = [random.next() * 255, random.next() * 255, random.next() * 255];
  for (let i = 0; i < rgb.length; i++) {
    if (kind === 0) rgb[i] = Math.floor(random.next() * 256);
    else if (kind === 1) rgb[i] = Math.max(0, Math.min(255, Math.round(base[i % 3] + random.normal() * 20)));
    else rgb[i] = random.next() < 0.5 ? 0 : 255;
  }
  return rgb;
}

function softmax(classes: number, spread: number): Float32Array {
  const logits = Array.from({ length: classes }, () => random.normal() * spread);
  const top = Math.max(...logits);
  const exp = logits.map((l) => Math.exp(l - top));
  const total = exp.reduce((a, b) => a + b, 0);
  return Float32Array.from(exp, (e) => e / total);
}

/** The next double above `value` (value finite and > 0). */
function nextUp(value: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

function nextDown(value: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

describe('imageStats fast path', () => {
  const images = [
    new Uint8Array(3072),
    new Uint8Array(3072).fill(255),
    Uint8Array.from({ length: 3072 }, (_, i) => (i * 7) % 256),
    ...Array.from({ length: 300 }, (_, i) => randomImage(i % 3)),
  ];

  it('is bit-identical to the formulas computed separately', () => {
    for (const rgb of images) {
      const fast = imageStats(rgb);
      const expected = referenceImageStats(rgb);
      for (const signal of IMAGE_SIGNALS) expect([signal, fast[signal]]).toEqual([signal, expected[signal]]);
    }
  });

  it('reads each image of a packed batch at its offset', () => {
    const packed = new Uint8Array(images.length * 3072);
    images.forEach((rgb, i) => packed.set(rgb, i * 3072));
    const batch = batchImageStats(packed, images.length);
    images.forEach((rgb, i) => {
      const expected = referenceImageStats(packed, i * 3072);
      for (const signal of IMAGE_SIGNALS) expect([i, signal, batch[signal][i]]).toEqual([i, signal, expected[signal]]);
      expect(imageStats(rgb)).toEqual(expected);
    });
  });
});

describe('toStoredPrecision', () => {
  const same = (values: number[]) => {
    const wrong = values.filter((v) => !Object.is(toStoredPrecision(v), Number(v.toPrecision(6))));
    expect(wrong.map((v) => [v, toStoredPrecision(v), Number(v.toPrecision(6))])).toEqual([]);
  };

  it('equals Number(v.toPrecision(6)) on softmax outputs, input statistics and any magnitude', () => {
    const values: number[] = [];
    for (let i = 0; i < 2000; i++) values.push(...softmax(10, 1 + (i % 8) * 3));
    for (let i = 0; i < 20000; i++) values.push(random.next() * 255, random.next() * 1020, 10 ** (random.next() * 44 - 22), -random.next());
    same(values);
  });

  it('equals it at rounding ties, next to them, and around powers of ten', () => {
    const values: number[] = [0, -0, 1, 0.5, 255, 1020, NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE, 1e-17, 1e-18, 1e22, 1e23];
    for (let i = 0; i < 5000; i++) {
      // m + 0.5 with m of 6 digits is an exact tie of the 6-digit rounding; scaled by 2^-j it stays exact in binary.
      const tie = (100000 + Math.floor(random.next() * 900000) + 0.5) / 2 ** Math.floor(random.next() * 30);
      values.push(tie, nextUp(tie), nextDown(tie));
    }
    for (let e = -20; e <= 8; e++) {
      const power = 10 ** e;
      values.push(power, nextUp(power), nextDown(power), power * 0.9999995, power * 0.99999949, power * 0.9999995000001);
    }
    same(values);
  });

  it('is what compact() gives', () => {
    for (const v of softmax(10, 4)) expect(toStoredPrecision(v)).toBe(compact(v));
  });
});

describe('a monitored prediction-log line', () => {
  it('is the line the straightforward code wrote, and feeds the window the same numbers', () => {
    const base = {
      timestamp: '2026-12-01T23:00:00.000Z',
      model_version: 'v1',
      predicted_class: 'cat',
      confidence: 0.734512,
      latency_ms: 3.21,
      input_sha256: 'a'.repeat(64),
      route: '/predict',
    };
    for (let i = 0; i < 200; i++) {
      const pixels = randomImage(i % 3);
      const probabilities = softmax(10, 1 + (i % 5) * 4);
      const stats = referenceImageStats(pixels);
      const expected = {
        probabilities: Array.from(probabilities, compact),
        input_stats: Object.fromEntries(IMAGE_SIGNALS.map((signal) => [signal, compact(stats[signal])])),
      };
      const fields = monitorFields({ probabilities, pixels });
      expect(fields).toEqual(expected);
      const line = JSON.stringify({ schema_version: 2, ...base, ...expected }) + '\n';
      expect(formatMonitoredRecord(base, fields)).toBe(line);
      expect(formatRecord({ ...base, ...fields })).toBe(line);
    }
  });

  it('escapes strings and spells numbers as JSON.stringify does', () => {
    const fields = { probabilities: [0, 1, 1.5e-7, 0.000001, NaN], input_stats: { mean_r: 0, mean_g: 255, mean_b: 1e21, std_r: -0, std_g: Infinity, std_b: 0.1, brightness: 12.5, noise: 1020 } };
    const record = {
      timestamp: '2026-12-01T23:00:00.000Z',
      model_version: 'v"1\\2\n',
      predicted_class: 'chat \u00e9 \ud83d\udc08 \u2028',
      confidence: 1,
      latency_ms: 0,
      input_sha256: 'f'.repeat(64),
      route: 'predict-file',
    };
    expect(formatMonitoredRecord(record, fields)).toBe(JSON.stringify({ schema_version: 2, ...record, ...fields }) + '\n');
  });
});
