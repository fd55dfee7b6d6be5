/**
 * Structural checks of an image's container before any decoder sees it: every frame, page and
 * IFD the decoder would read is located and its declared size checked against the limits, and
 * truncated files (no PNG IEND, no JPEG EOI, no GIF trailer, short BMP/TIFF data) are refused.
 * Reads headers only: cost is proportional to the number of chunks/blocks, never to pixels.
 */
import { checkDimensions, corrupt, ImageDecodeError, ImageHeader } from './decode-limits';
import { readGifHeader } from './gif-header';
import { readJpegHeader } from './jpeg-header';
import { readPngHeader } from './png-header';
import { readTiffHeader } from './tiff-header';

export type { ImageHeader, ImageType } from './decode-limits';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Bytes -> the checked header; throws ImageDecodeError (empty, unsupported, corrupt, too large). */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length === 0) throw new ImageDecodeError('empty_image', 'the image is empty (0 bytes)');
  try {
    return readHeaderByType(bytes);
  } catch (err) {
    // A field the walkers read lies past the end of the file: truncated by definition.
    if (err instanceof RangeError) throw corrupt('a header field lies past the end of the file');
    throw err;
  }
}

function readHeaderByType(bytes: Uint8Array): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return readPngHeader(bytes, view);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return readJpegHeader(bytes, view);
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return readGifHeader(bytes, view);
  if (ascii(0, 2) === 'BM') return readBmpHeader(bytes, view);
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return readTiffHeader(bytes, view);
  throw new ImageDecodeError('unsupported_image', 'the bytes are not a supported image (PNG, JPEG, BMP, GIF or TIFF)');
}

/** BITMAPCOREHEADER or BITMAPINFOHEADER+; uncompressed pixel rows must all be in the file. */
function readBmpHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  if (bytes.length < 26) throw corrupt('BMP header is truncated');
  const dataOffset = view.getUint32(10, true);
  const dibSize = view.getUint32(14, true);
  const core = dibSize === 12;
  if (!core && (dibSize < 40 || bytes.length < 14 + 40)) throw corrupt(`BMP info header of ${dibSize} bytes`);
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const height = Math.abs(core ? view.getInt16(20, true) : view.getInt32(22, true));
  const bitsPerPixel = view.getUint16(core ? 24 : 28, true);
  const compression = core ? 0 : view.getUint32(30, true);
  checkDimensions(width, height);
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) throw corrupt(`BMP with ${bitsPerPixel} bits per pixel`);
  if (dataOffset >= bytes.length) throw corrupt('BMP pixel data starts past the end of the file');
  const uncompressed = compression === 0 || compression === 3 || compression === 6;
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (uncompressed && dataOffset + rowBytes * height > bytes.length) throw corrupt('BMP pixel data is truncated');
  return { type: 'bmp', width, height, decodedPixels: width * height };
}
