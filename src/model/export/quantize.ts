/**
 * Post-training weight quantization in the tfjs weights-manifest format: each float32 weight is
 * stored as float16, or as uint8 with an affine `scale` and `min`, and its manifest entry carries
 * `quantization: {dtype, scale?, min?}`. tfjs's own loaders dequantize such entries, so plain
 * @tensorflow/tfjs loads the result. The uint8 range follows tfjs-converter's quantization.py:
 * min..max of the tensor, nudged so that 0 is exactly representable when it lies in the range.
 */
import { setFloat16 } from '@petamoriken/float16';
import type * as tf from '@tensorflow/tfjs';

export type QuantizationDtype = 'float16' | 'uint8';

export interface QuantizedWeights {
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

const UINT8_MAX = 255;

/** The uint8 affine parameters for values in [min, max]. */
export function affineRange(min: number, max: number): { scale: number; min: number; max: number } {
  if (min === max) return { scale: 1, min, max };
  const scale = (max - min) / UINT8_MAX;
  if (min <= 0 && 0 <= max) {
    const nudgedMin = -Math.round(-min / scale) * scale;
    return { scale, min: nudgedMin, max: UINT8_MAX * scale + nudgedMin };
  }
  return { scale, min, max };
}

function quantizeUint8(values: Float32Array): { bytes: Uint8Array; scale: number; min: number } {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const range = affineRange(low, high);
  const bytes = new Uint8Array(values.length);
  if (low !== high) {
    for (let i = 0; i < values.length; i++) {
      const clipped = Math.min(Math.max(values[i], range.min), range.max);
      bytes[i] = Math.round((clipped - range.min) / range.scale);
    }
  }
  return { bytes, scale: range.scale, min: range.min };
}

function quantizeFloat16(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 2);
  const view = new DataView(bytes.buffer);
  // tfjs reads the halves through a Uint16Array, i.e. in the host's (little-endian) byte order.
  for (let i = 0; i < values.length; i++) setFloat16(view, i * 2, values[i], true);
  return bytes;
}

/** Quantizes every float32 weight of a float32 weights buffer; other dtypes are kept as they are. */
export function quantizeWeights(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer, dtype: QuantizationDtype): QuantizedWeights {
  const parts: Uint8Array[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization) throw new Error(`weight ${spec.name} is already quantized`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const byteLength = size * 4; // float32 and int32
    const raw = data.slice(offset, offset + byteLength);
    offset += byteLength;
    if (spec.dtype !== 'float32') {
      parts.push(new Uint8Array(raw));
      weightSpecs.push(spec);
      continue;
    }
    const values = new Float32Array(raw);
    if (dtype === 'float16') {
      parts.push(quantizeFloat16(values));
      weightSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      const { bytes, scale, min } = quantizeUint8(values);
      parts.push(bytes);
      weightSpecs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
    }
  }
  const joined = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return { weightSpecs, weightData: joined.buffer };
}
