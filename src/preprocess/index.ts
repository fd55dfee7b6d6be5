/**
 * The one preprocessing module: train, serve and drift all turn bytes into model input
 * here, so the same image bytes give the same tensor everywhere.
 */
import * as tf from '@tensorflow/tfjs';
import { imageSize } from 'image-size';
import { Jimp, ResizeStrategy } from 'jimp';
import { DataError } from '../errors';

export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE * CHANNELS;
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

/** Largest width or height accepted before decoding (a 30000x30000 header is refused unread). */
export const MAX_IMAGE_SIDE = 4096;
export const MAX_IMAGE_PIXELS = 16_000_000;

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

/** Why an image could not be used; serve maps codes to 4xx responses. */
export class ImageDecodeError extends DataError {
  constructor(
    readonly code: 'empty_image' | 'unsupported_image' | 'corrupt_image' | 'image_too_large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * jimp's decoders, picked by the type image-size read from the header. (Jimp.read would sniff
 * the type again through an ESM-only package loaded by dynamic import, which costs time per
 * image and breaks under jest.) EXIF orientation is not applied.
 */
const JIMP_FORMATS = new Jimp({ width: 1, height: 1 }).formats;
const MIME_BY_TYPE: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  bmp: 'image/bmp',
  gif: 'image/gif',
  tiff: 'image/tiff',
};

/**
 * Any image jimp decodes (PNG, JPEG, BMP, GIF, TIFF; grayscale or alpha) -> RGB 32x32 uint8 HWC.
 * The header is read first so images declaring huge dimensions are refused before decoding.
 */
export async function decodeImageToRgb32(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.length === 0) throw new ImageDecodeError('empty_image', 'the image is empty (0 bytes)');
  let dims: { width?: number; height?: number; type?: string };
  try {
    dims = imageSize(bytes);
  } catch {
    throw new ImageDecodeError('unsupported_image', 'the bytes are not a supported image (PNG, JPEG, BMP, GIF or TIFF)');
  }
  const width = dims.width ?? 0;
  const height = dims.height ?? 0;
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw new ImageDecodeError(
      'image_too_large',
      `image dimensions ${width}x${height} exceed the limit of ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE}`,
    );
  }
  const format = JIMP_FORMATS.find((f) => f.mime === MIME_BY_TYPE[dims.type ?? '']);
  if (!format?.decode) {
    throw new ImageDecodeError('unsupported_image', `${dims.type} images are not supported (PNG, JPEG, BMP, GIF or TIFF)`);
  }
  let bitmap: Bitmap;
  try {
    bitmap = await format.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new ImageDecodeError('corrupt_image', `the image could not be decoded: ${(err as Error).message}`);
  }
  if (bitmap.width === IMAGE_SIZE && bitmap.height === IMAGE_SIZE && bitmap.data instanceof Uint8Array && bitmap.data.length === IMAGE_SIZE * IMAGE_SIZE * 4) {
    // Already 32x32 RGBA: a Jimp object (which binds every plugin method per instance) would only copy it.
    return rgbaToRgb(bitmap.data);
  }
  // An exact copy: Jimp.fromBitmap wraps a Uint8Array's whole ArrayBuffer, which for a small pooled
  // Buffer (as the TIFF decoder returns) holds other bytes too.
  const image = Jimp.fromBitmap({ ...bitmap, data: new Uint8Array(bitmap.data) });
  image.resize({ w: IMAGE_SIZE, h: IMAGE_SIZE, mode: ResizeStrategy.BILINEAR });
  return rgbaToRgb(image.bitmap.data);
}

type Bitmap = Parameters<typeof Jimp.fromBitmap>[0];

function rgbaToRgb(rgba: Uint8Array): Uint8Array {
  const pixels = rgba.length / 4;
  const rgb = new Uint8Array(pixels * CHANNELS);
  for (let p = 0; p < pixels; p++) {
    rgb[p * 3] = rgba[p * 4];
    rgb[p * 3 + 1] = rgba[p * 4 + 1];
    rgb[p * 3 + 2] = rgba[p * 4 + 2];
  }
  return rgb;
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
