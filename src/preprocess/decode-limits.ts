/**
 * What one image may cost to decode, and the error every refusal uses. The header readers
 * (image-header.ts) check these before any decoder allocates; the decode pool enforces the time.
 */
import { DataError } from '../errors';

/** Largest width or height accepted before decoding (a 30000x30000 header is refused unread). */
export const MAX_IMAGE_SIDE = 4096;
/** Most pixels one image (all frames/pages its decoder reads) may decode to. */
export const MAX_IMAGE_PIXELS = 16_000_000;
/** Most TIFF IFDs (pages and sub-IFDs) one file may chain; a loop is refused before this. */
export const MAX_TIFF_IFDS = 64;
/** A decode that takes longer than this is stopped (its worker is terminated and replaced). */
export const DECODE_TIMEOUT_MS = 5_000;

/** What the header walk found (image-header.ts). */
export type ImageType = 'png' | 'jpg' | 'gif' | 'bmp' | 'tiff';

export interface ImageHeader {
  type: ImageType;
  /** Size of the image as decoded (first frame / page). */
  width: number;
  height: number;
  /** Pixels the decoder allocates over every frame/page it reads (the per-request budget counts these). */
  decodedPixels: number;
}

export type ImageDecodeErrorCode =
  | 'empty_image'
  | 'unsupported_image'
  | 'corrupt_image'
  | 'image_too_large'
  | 'image_decode_timeout'
  | 'image_decode_out_of_memory';

/** Why an image could not be used; serve maps codes to 4xx responses. */
export class ImageDecodeError extends DataError {
  constructor(
    readonly code: ImageDecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function corrupt(message: string): ImageDecodeError {
  return new ImageDecodeError('corrupt_image', `the image is corrupt or truncated: ${message}`);
}

/** Refuses a declared frame size over the limits (or empty) before anything is allocated for it. */
export function checkDimensions(width: number, height: number, what = 'image'): void {
  if (!(width > 0 && height > 0)) throw corrupt(`${what} declares ${width}x${height} pixels`);
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw new ImageDecodeError(
      'image_too_large',
      `${what} dimensions ${width}x${height} exceed the limit of ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE} (${MAX_IMAGE_PIXELS} pixels)`,
    );
  }
}

/** Refuses images whose frames/pages together decode to more than one image's pixel limit. */
export function checkTotalPixels(pixels: number, what: string): void {
  if (pixels > MAX_IMAGE_PIXELS) {
    throw new ImageDecodeError('image_too_large', `${what} decode to ${pixels} pixels in total; the limit is ${MAX_IMAGE_PIXELS}`);
  }
}
