/**
 * Request payload -> image bytes / pixels, strictly: anything malformed becomes a 4xx HttpError
 * naming the field. Decoding itself happens only in src/preprocess.
 */
import { ImageDecodeError, IMAGE_SIZE, CHANNELS, MAX_IMAGE_PIXELS, PIXELS_PER_IMAGE } from '../preprocess';
import { decodeImageBounded } from '../preprocess/decode-pool';
import { ImageHeader, readImageHeader } from '../preprocess/image-header';
import { HttpError, httpErrorFromDecode } from './http-errors';

/** Most images one /predict/batch or TF Serving :predict request may carry. */
export const MAX_BATCH_IMAGES = 64;
/** Largest JSON body (base64 images included). */
export const MAX_JSON_BYTES = 10 * 1024 * 1024;
/** Largest multipart upload. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/**
 * Most pixels one request may decode, over all its images (batch and TF Serving `instances`
 * included; a pixel-array instance counts 32x32): as much as one largest image, so a request's
 * decode memory is bounded whatever it carries. Counted from the headers, before any decoding.
 */
export const MAX_REQUEST_PIXELS = MAX_IMAGE_PIXELS;

const DATA_URL_PREFIX = /^data:[\w.+-]+\/[\w.+-]+(;[\w-]+=[\w.-]+)*;base64,/i;
const BASE64_BODY = /^[A-Za-z0-9+/_-]*={0,2}$/;
const WHITESPACE = /\s+/g;

/** Base64 (standard or URL-safe, padding optional) or a data: URL -> bytes. */
export function decodeBase64Field(value: unknown, field: string): Buffer {
  if (value === undefined || value === null) throw new HttpError(400, 'missing_field', `"${field}" is required`);
  if (typeof value !== 'string') throw new HttpError(400, 'invalid_field', `"${field}" must be a base64 string`);
  let text = value;
  const prefix = DATA_URL_PREFIX.exec(text);
  if (prefix) text = text.slice(prefix[0].length);
  else if (text.startsWith('data:')) throw new HttpError(400, 'invalid_base64', `"${field}" is a data: URL without ";base64,"`);
  if (!BASE64_BODY.test(text)) {
    // Rare: whitespace (line-wrapped base64) is allowed and removed; anything else is refused below.
    text = text.replace(WHITESPACE, '');
    if (text.length > 0 && !BASE64_BODY.test(text)) throw new HttpError(400, 'invalid_base64', `"${field}" is not valid base64`);
  }
  if (text.length === 0) throw new HttpError(400, 'empty_image', `"${field}" is empty`);
  let end = text.length;
  while (text.charCodeAt(end - 1) === 61 /* = */) end--;
  if (end % 4 === 1) throw new HttpError(400, 'invalid_base64', `"${field}" is not valid base64`);
  // Node's base64 decoder reads the URL-safe alphabet (- _) as well.
  return Buffer.from(text, 'base64');
}

/** Image bytes -> 32x32 RGB pixels via the shared preprocessing module (bounded decode); errors -> 4xx. */
export async function decodeImageField(bytes: Uint8Array, field: string, header?: ImageHeader): Promise<Uint8Array> {
  try {
    return await decodeImageBounded(bytes, header ?? readImageHeader(bytes));
  } catch (err) {
    rethrowAsHttpError(err, field);
  }
}

export interface DecodedImage {
  /** What the input hash is computed from: the image bytes, or the pixels of a pixel-array instance. */
  bytes: Uint8Array;
  pixels: Uint8Array;
}

/**
 * `images` of /predict/batch -> pixels. Every item's base64 and header is checked and the
 * request's pixel budget summed before anything is decoded, so one bad or huge image fails
 * the request without decoding the others.
 */
export async function decodeImageList(images: unknown[], field: string): Promise<DecodedImage[]> {
  const items = images.map((image, i) => readImageItem(decodeBase64Field(image, `${field}[${i}]`), `${field}[${i}]`));
  return decodeWithinBudget(items, field);
}

/** TF Serving `instances` -> pixels, with the same checks and budget as decodeImageList. */
export async function decodeInstanceList(instances: unknown[], field: string): Promise<DecodedImage[]> {
  const items = instances.map((instance, i): PendingImage => {
    const where = `${field}[${i}]`;
    if (instance !== null && typeof instance === 'object' && !Array.isArray(instance)) {
      return readImageItem(decodeBase64Field((instance as Record<string, unknown>).b64, `${where}.b64`), where);
    }
    const pixels = pixelArrayToUint8(instance, where);
    return { field: where, bytes: pixels, pixels, decodedPixels: IMAGE_SIZE * IMAGE_SIZE };
  });
  return decodeWithinBudget(items, field);
}

interface PendingImage {
  field: string;
  bytes: Uint8Array;
  decodedPixels: number;
  header?: ImageHeader;
  /** Already pixels (a pixel-array instance): nothing to decode. */
  pixels?: Uint8Array;
}

function readImageItem(bytes: Uint8Array, field: string): PendingImage {
  try {
    const header = readImageHeader(bytes);
    return { field, bytes, header, decodedPixels: header.decodedPixels };
  } catch (err) {
    rethrowAsHttpError(err, field);
  }
}

async function decodeWithinBudget(items: PendingImage[], field: string): Promise<DecodedImage[]> {
  const total = items.reduce((sum, item) => sum + item.decodedPixels, 0);
  if (total > MAX_REQUEST_PIXELS) {
    throw new HttpError(413, 'too_many_pixels', `"${field}" would decode to ${total} pixels; the limit is ${MAX_REQUEST_PIXELS} per request`);
  }
  return Promise.all(
    items.map(async (item) => ({ bytes: item.bytes, pixels: item.pixels ?? (await decodeImageField(item.bytes, item.field, item.header)) })),
  );
}

function rethrowAsHttpError(err: unknown, field: string): never {
  if (err instanceof ImageDecodeError) throw httpErrorFromDecode(err, `"${field}"`);
  throw err;
}

/** `{"images": [...]}` / `{"instances": [...]}` -> the array, with the documented size limit. */
export function requireImageList(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) throw new HttpError(400, 'missing_field', `"${field}" is required`);
  if (!Array.isArray(value)) throw new HttpError(400, 'invalid_field', `"${field}" must be an array`);
  if (value.length === 0) throw new HttpError(400, 'invalid_field', `"${field}" must not be empty`);
  if (value.length > MAX_BATCH_IMAGES) {
    throw new HttpError(413, 'too_many_images', `"${field}" has ${value.length} items; the limit is ${MAX_BATCH_IMAGES} per request`);
  }
  return value;
}

function pixelArrayToUint8(value: unknown, field: string): Uint8Array {
  const shapeError = () =>
    new HttpError(400, 'invalid_instance', `${field} must be a ${IMAGE_SIZE}x${IMAGE_SIZE}x${CHANNELS} array of numbers 0-255 or {"b64": "..."}`);
  if (!Array.isArray(value) || value.length !== IMAGE_SIZE) throw shapeError();
  const pixels = new Uint8Array(PIXELS_PER_IMAGE);
  let offset = 0;
  for (const row of value) {
    if (!Array.isArray(row) || row.length !== IMAGE_SIZE) throw shapeError();
    for (const pixel of row) {
      if (!Array.isArray(pixel) || pixel.length !== CHANNELS) throw shapeError();
      for (const channel of pixel) {
        if (typeof channel !== 'number' || !(channel >= 0 && channel <= 255)) throw shapeError();
        pixels[offset++] = Math.round(channel);
      }
    }
  }
  return pixels;
}
