/**
 * PNG chunk walk (IHDR first, every chunk inside the file, IDAT present, IEND reached), and the
 * image-data check the decode step runs before pngjs: pngjs takes a deflate stream that ends
 * early as fewer rows (or rows of garbage) and inflates interlaced data without an output cap,
 * so the data must inflate, within a cap, to exactly the bytes the header's rows need.
 */
import { inflateSync } from 'node:zlib';
import { checkDimensions, corrupt } from './decode-limits';
import type { ImageHeader } from './image-header';

/** Channels per PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface PngLayout {
  width: number;
  height: number;
  bitsPerPixel: number;
  interlaced: boolean;
  idat: Uint8Array[];
}

function readChunks(bytes: Uint8Array, view: DataView): PngLayout {
  const layout: PngLayout = { width: 0, height: 0, bitsPerPixel: 0, interlaced: false, idat: [] };
  for (let offset = 8, first = true; ; first = false) {
    if (offset + 12 > bytes.length) throw corrupt('PNG ends before its IEND chunk');
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > bytes.length) throw corrupt(`PNG chunk ${type} runs past the end of the file`);
    if (first) {
      if (type !== 'IHDR' || length !== 13) throw corrupt('PNG does not start with an IHDR chunk');
      layout.width = view.getUint32(offset + 8);
      layout.height = view.getUint32(offset + 12);
      layout.bitsPerPixel = bytes[offset + 16] * (PNG_CHANNELS[bytes[offset + 17]] ?? 4);
      layout.interlaced = bytes[offset + 20] === 1;
    }
    if (type === 'IDAT') layout.idat.push(bytes.subarray(offset + 8, offset + 8 + length));
    if (type === 'IEND') return layout;
    offset += 12 + length;
  }
}

export function readPngHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  const { width, height, idat } = readChunks(bytes, view);
  checkDimensions(width, height);
  if (idat.length === 0) throw corrupt('PNG has no image data (IDAT)');
  return { type: 'png', width, height, decodedPixels: width * height };
}

/** Bytes of filtered scanlines (one filter byte per row) the header's size and format need. */
function expectedDataBytes({ width, height, bitsPerPixel, interlaced }: PngLayout): number {
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (Math.ceil((w * bitsPerPixel) / 8) + 1) : 0);
  if (!interlaced) return rows(width, height);
  return ADAM7.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)), 0);
}

/** Refuses image data that is truncated or inflates to more or fewer bytes than its rows need. */
export function checkPngImageData(bytes: Uint8Array): void {
  const layout = readChunks(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const expected = expectedDataBytes(layout);
  let inflated: Buffer;
  try {
    const data = layout.idat.length === 1 ? layout.idat[0] : Buffer.concat(layout.idat);
    inflated = inflateSync(data, { maxOutputLength: expected + 1 });
  } catch (err) {
    throw corrupt(`PNG image data does not inflate to its ${expected} bytes (${(err as Error).message})`);
  }
  if (inflated.length !== expected) throw corrupt(`PNG image data inflates to ${inflated.length} bytes, its rows need ${expected}`);
}
