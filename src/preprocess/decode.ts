/**
 * Image bytes -> 32x32 RGB pixels, in this thread: header checks (image-header.ts), then jimp's
 * decoder for the type (PNG: pngjs's steps with a checked inflate, png-decode.ts), then jimp's
 * bilinear resize. The decode worker runs this same function,
 * so an image gives the same pixels whichever thread decodes it. No tensorflow import here:
 * decode workers load only this.
 */
import { Jimp, ResizeStrategy } from 'jimp';
import { corrupt, ImageDecodeError, MAX_IMAGE_PIXELS } from './decode-limits';
import { ImageHeader, ImageType, readImageHeader } from './image-header';
import { decodePng } from './png-decode';

export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE * CHANNELS;

/**
 * jimp's decoders, picked by the type read from the header. (Jimp.read would sniff the type
 * again through an ESM-only package loaded by dynamic import, which costs time per image and
 * breaks under jest.) EXIF orientation is not applied.
 */
const JIMP_FORMATS = new Jimp({ width: 1, height: 1 }).formats;
const MIME_BY_TYPE: Record<ImageType, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  bmp: 'image/bmp',
  gif: 'image/gif',
  tiff: 'image/tiff',
};
/** jpeg-js: throw on damaged data instead of skipping blocks, and its own allocation caps. */
const JPEG_OPTIONS = { tolerantDecoding: false, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 512 };

/**
 * Any image jimp decodes (PNG, JPEG, BMP, GIF, TIFF; grayscale or alpha) -> RGB 32x32 uint8 HWC.
 * The header is checked first, so a hostile or truncated file is refused before decoding.
 */
export async function decodeImageToRgb32(bytes: Uint8Array): Promise<Uint8Array> {
  return decodeCheckedImage(bytes, readImageHeader(bytes));
}

/** The decode step alone, for bytes whose header `readImageHeader` has already accepted. */
export async function decodeCheckedImage(bytes: Uint8Array, header: ImageHeader): Promise<Uint8Array> {
  const format = JIMP_FORMATS.find((f) => f.mime === MIME_BY_TYPE[header.type]);
  if (!format?.decode) throw new ImageDecodeError('unsupported_image', `${header.type} images are not supported`);
  let bitmap: Bitmap;
  try {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const decode = format.decode as (data: Buffer, options?: object) => Bitmap | Promise<Bitmap>;
    bitmap = header.type === 'png' ? decodePng(buffer) : await decode(buffer, header.type === 'jpg' ? JPEG_OPTIONS : undefined);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError('corrupt_image', `the image could not be decoded: ${(err as Error).message}`);
  }
  if (bitmap.width !== header.width || bitmap.height !== header.height) {
    throw corrupt(`decoded to ${bitmap.width}x${bitmap.height}, the header says ${header.width}x${header.height}`);
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
