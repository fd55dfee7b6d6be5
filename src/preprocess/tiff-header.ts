/**
 * TIFF IFD walk, as utif2 (jimp's decoder) reads the file: the page chain and the sub-IFDs it
 * follows (SubIFDs, EXIF, GPS, Fuji). utif2 trusts every offset and count, so a page chain that
 * points back at itself loops forever and a count of 0xFFFFFFFF reads for seconds. Here an IFD
 * seen twice is a loop, every tag's values must lie inside the file and all tags together may
 * not claim more bytes than the file has, and strip/tile data must be in the file.
 */
import { checkDimensions, checkTotalPixels, corrupt, ImageDecodeError, MAX_TIFF_IFDS, ImageHeader } from './decode-limits';

/** Bytes per value of each TIFF field type (1 BYTE ... 12 DOUBLE, 13 IFD). */
const TYPE_BYTES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
/** Tags whose values are offsets of further IFDs that utif2 parses. */
const SUB_IFD_TAGS = [330, 34665, 34853, 61440];
const WIDTH = 256;
const HEIGHT = 257;
const BITS_PER_SAMPLE = 258;
const COMPRESSION = 259;
const STRIP_OFFSETS = 273;
const SAMPLES_PER_PIXEL = 277;
const STRIP_BYTE_COUNTS = 279;
const TILE_WIDTH = 322;
const TILE_LENGTH = 323;
const TILE_OFFSETS = 324;
const TILE_BYTE_COUNTS = 325;

interface Entry {
  type: number;
  count: number;
  /** Where the values are: inline in the entry or at the offset it holds. */
  at: number;
}

export function readTiffHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  const little = bytes[0] === 0x49;
  const u16 = (at: number) => view.getUint16(at, little);
  const u32 = (at: number) => view.getUint32(at, little);
  if (bytes.length < 8) throw corrupt('TIFF header is truncated');
  const visited = new Set<number>();
  let valueBytes = 0;

  const values = (entry: Entry | undefined): number[] => {
    if (!entry) return [];
    const read = entry.type === 3 || entry.type === 8 ? u16 : entry.type === 4 || entry.type === 9 || entry.type === 13 ? u32 : (at: number) => bytes[at];
    return Array.from({ length: entry.count }, (_, i) => read(entry.at + i * TYPE_BYTES[entry.type]));
  };

  const readIfd = (offset: number, what: string): { width?: number; height?: number; next: number } => {
    if (visited.has(offset)) throw corrupt(`TIFF IFDs form a loop (${what} at byte ${offset} was already read)`);
    if (visited.size >= MAX_TIFF_IFDS) throw corrupt(`TIFF has more than ${MAX_TIFF_IFDS} IFDs`);
    visited.add(offset);
    if (offset + 2 > bytes.length) throw corrupt(`TIFF ${what} starts past the end of the file`);
    const count = u16(offset);
    if (count === 0 || offset + 2 + 12 * count + 4 > bytes.length) throw corrupt(`TIFF ${what} is empty or truncated`);
    const entries = new Map<number, Entry>();
    for (let i = 0; i < count; i++) {
      const base = offset + 2 + 12 * i;
      const tag = u16(base);
      const type = u16(base + 2);
      const valueCount = u32(base + 4);
      if (type < 1 || type > 13) throw corrupt(`TIFF tag ${tag} has unknown type ${type}`);
      const size = valueCount * TYPE_BYTES[type];
      const at = size <= 4 ? base + 8 : u32(base + 8);
      if (at + size > bytes.length) throw corrupt(`TIFF tag ${tag} claims ${valueCount} values past the end of the file`);
      valueBytes += size;
      if (valueBytes > bytes.length) throw corrupt('TIFF tags claim more value bytes than the file holds');
      if (!entries.has(tag)) entries.set(tag, { type, count: valueCount, at });
    }
    const [width] = values(entries.get(WIDTH));
    const [height] = values(entries.get(HEIGHT));
    if (width !== undefined || height !== undefined) checkDimensions(width ?? 0, height ?? 0, `TIFF ${what}`);
    checkPixelLayout(entries, values, bytes.length, width ?? 0, height ?? 0);
    for (const tag of SUB_IFD_TAGS) {
      for (const subOffset of values(entries.get(tag))) readIfd(subOffset, `sub-IFD of ${what}`);
    }
    return { width, height, next: u32(offset + 2 + 12 * count) };
  };

  let next = u32(4);
  const pages: { width: number; height: number }[] = [];
  while (next !== 0) {
    const page = readIfd(next, `page ${pages.length}`);
    pages.push({ width: page.width ?? 0, height: page.height ?? 0 });
    next = page.next;
  }
  if (pages.length === 0 || pages[0].width === 0) throw corrupt('TIFF has no page with a width and height');
  // jimp's TIFF decoder decodes every page (then keeps the first).
  const decodedPixels = pages.reduce((sum, p) => sum + p.width * p.height, 0);
  checkTotalPixels(decodedPixels, `the ${pages.length} TIFF pages`);
  return { type: 'tiff', width: pages[0].width, height: pages[0].height, decodedPixels };
}

/** Samples, tiles and strip/tile data of one IFD: sizes in range and data inside the file. */
function checkPixelLayout(
  entries: Map<number, Entry>,
  values: (entry: Entry | undefined) => number[],
  fileBytes: number,
  width: number,
  height: number,
): void {
  const bits = values(entries.get(BITS_PER_SAMPLE));
  const [samples = 1] = values(entries.get(SAMPLES_PER_PIXEL));
  if (samples > 8 || bits.some((b) => b > 32)) {
    throw new ImageDecodeError('unsupported_image', `TIFF with ${samples} samples of ${Math.max(...bits)} bits per pixel`);
  }
  const [tileWidth, tileLength] = [values(entries.get(TILE_WIDTH))[0], values(entries.get(TILE_LENGTH))[0]];
  if (tileWidth !== undefined || tileLength !== undefined) checkDimensions(tileWidth ?? 0, tileLength ?? 0, 'TIFF tile');
  const tiled = entries.has(TILE_OFFSETS);
  const offsets = values(entries.get(tiled ? TILE_OFFSETS : STRIP_OFFSETS));
  const counts = values(entries.get(tiled ? TILE_BYTE_COUNTS : STRIP_BYTE_COUNTS));
  offsets.forEach((offset, i) => {
    if (offset + (counts[i] ?? 0) > fileBytes) throw corrupt('TIFF strip or tile data is truncated');
  });
  const [compression = 1] = values(entries.get(COMPRESSION));
  if (compression === 1 && !tiled && offsets.length === 1) {
    // utif2 reads an uncompressed single strip as height * row bytes, whatever its byte count says.
    const rowBytes = Math.ceil((width * samples * (bits[0] ?? 1)) / 8);
    if (offsets[0] + rowBytes * height > fileBytes) throw corrupt('TIFF strip data is truncated');
  }
}
