/**
 * The one preprocessing module: train, serve and drift all turn bytes into model input
 * here, so the same image bytes give the same tensor everywhere.
 */
import * as tf from '@tensorflow/tfjs';
import { Jimp } from 'jimp';
import { DataError } from '../errors';
import { CHANNELS, IMAGE_SIZE, PIXELS_PER_IMAGE } from './decode';

export { CHANNELS, IMAGE_SIZE, PIXELS_PER_IMAGE, decodeImageToRgb32 } from './decode';
export { ImageDecodeError, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from './decode-limits';
export type { ImageDecodeErrorCode } from './decode-limits';
export const INPUT_SHAPE: [number, number, number] = [IMAGE_SIZE, IMAGE_SIZE, CHANNELS];

/** The workshop's torchvision Normalize((0.5,0.5,0.5),(0.5,0.5,0.5)) after ToTensor(). */
export const PREPROCESSING = {
  color_mode: 'RGB',
  resize: { width: IMAGE_SIZE, height: IMAGE_SIZE, method: 'bilinear' },
  alpha: 'dropped (channels kept as stored, like PIL convert("RGB"))',
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  formula: '(x / 255 - 0.5) / 0.5',
  layout: 'NHWC float32',
} as const;

/**
 * The normalised value of every uint8 level, per channel: the formula evaluated once per level
 * (in double, rounded to float32 as before), so normalising an image is a table lookup.
 */
const NORMALIZED_LEVELS: Float32Array[] = Array.from({ length: CHANNELS }, (_, channel) => {
  const { scale, mean, std } = PREPROCESSING;
  return Float32Array.from({ length: 256 }, (_, level) => (level * scale - mean[channel]) / std[channel]);
});

/** uint8 HWC pixels (any number of whole images) -> normalized float32, same layout. */
export function normalizePixels(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  const [red, green, blue] = NORMALIZED_LEVELS;
  let i = 0;
  for (; i + 2 < pixels.length; i += CHANNELS) {
    out[i] = red[pixels[i]];
    out[i + 1] = green[pixels[i + 1]];
    out[i + 2] = blue[pixels[i + 2]];
  }
  for (; i < pixels.length; i++) out[i] = NORMALIZED_LEVELS[i % CHANNELS][pixels[i]];
  return out;
}

/** `count` uint8 32x32 RGB images -> the model's input tensor [count, 32, 32, 3]. */
export function toInputTensor(pixels: Uint8Array, count: number): tf.Tensor4D {
  if (pixels.length !== count * PIXELS_PER_IMAGE) {
    throw new DataError(`expected ${count * PIXELS_PER_IMAGE} pixel bytes for ${count} images, got ${pixels.length}`);
  }
  return tf.tensor4d(normalizePixels(pixels), [count, IMAGE_SIZE, IMAGE_SIZE, CHANNELS], 'float32');
}

/** RGB uint8 HWC image -> PNG bytes (drift sends these exactly as a client would). */
export async function encodePng(rgb: Uint8Array, width = IMAGE_SIZE, height = IMAGE_SIZE): Promise<Buffer> {
  return encodeImage(rgb, 'image/png', width, height);
}

/** RGB uint8 HWC image -> JPEG bytes at the given quality (1-100). */
export async function encodeJpeg(rgb: Uint8Array, quality: number, width = IMAGE_SIZE, height = IMAGE_SIZE): Promise<Buffer> {
  return encodeImage(rgb, 'image/jpeg', width, height, quality);
}

async function encodeImage(
  rgb: Uint8Array,
  mime: 'image/png' | 'image/jpeg',
  width: number,
  height: number,
  quality?: number,
): Promise<Buffer> {
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba[p * 4] = rgb[p * 3];
    rgba[p * 4 + 1] = rgb[p * 3 + 1];
    rgba[p * 4 + 2] = rgb[p * 3 + 2];
    rgba[p * 4 + 3] = 255;
  }
  const image = Jimp.fromBitmap({ data: rgba, width, height });
  return mime === 'image/jpeg' ? image.getBuffer('image/jpeg', { quality }) : image.getBuffer('image/png');
}
