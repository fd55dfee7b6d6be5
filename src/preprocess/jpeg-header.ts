/**
 * JPEG marker walk: one baseline/extended/progressive frame (what jpeg-js decodes), every scan
 * located, an EOI after the last scan. jpeg-js reads bytes past the end of a scan as zeros,
 * so a file cut short and re-terminated would decode to grey blocks: each scan must hold at
 * least the bits its blocks need (2 per block in a sequential scan, 1 in a DC-first scan).
 */
import { checkDimensions, corrupt, ImageDecodeError, ImageHeader } from './decode-limits';

/** Most scans one file may have: progressive encoders write ~10; thousands are a known DoS. */
export const MAX_JPEG_SCANS = 100;

interface Frame {
  width: number;
  height: number;
  progressive: boolean;
  /** Per component id: sampling factors. */
  components: Map<number, { h: number; v: number }>;
  maxH: number;
  maxV: number;
}

const SOF_SEQUENTIAL = new Set([0xc0, 0xc1]);
const SOF_PROGRESSIVE = 0xc2;
/** SOF markers jpeg-js does not decode (lossless, hierarchical, arithmetic). */
const SOF_UNSUPPORTED = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

export function readJpegHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  let offset = 2;
  let frame: Frame | undefined;
  let scans = 0;
  for (;;) {
    if (offset + 2 > bytes.length) throw corrupt('JPEG ends before its EOI marker');
    if (bytes[offset] !== 0xff) throw corrupt(`JPEG marker expected at byte ${offset}`);
    const marker = bytes[offset + 1];
    offset += 2;
    if (marker === 0xff) {
      offset--; // fill byte
      continue;
    }
    if (marker === 0xd9) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (offset + 2 > bytes.length) throw corrupt('JPEG segment is truncated');
    const length = view.getUint16(offset);
    if (length < 2 || offset + length > bytes.length) throw corrupt(`JPEG segment 0x${marker.toString(16)} runs past the end of the file`);
    if (SOF_UNSUPPORTED.has(marker)) throw new ImageDecodeError('unsupported_image', 'lossless, hierarchical and arithmetic-coded JPEGs are not supported');
    if (SOF_SEQUENTIAL.has(marker) || marker === SOF_PROGRESSIVE) {
      if (frame) throw corrupt('JPEG has more than one frame');
      frame = readFrame(bytes, view, offset, marker === SOF_PROGRESSIVE);
    }
    if (marker === 0xda) {
      if (!frame) throw corrupt('JPEG scan before its frame header');
      if (length < 6 + 2 * bytes[offset + 2]) throw corrupt('JPEG scan header is truncated');
      if (++scans > MAX_JPEG_SCANS) throw corrupt(`JPEG has more than ${MAX_JPEG_SCANS} scans`);
      const dataStart = offset + length;
      const dataEnd = scanDataEnd(bytes, dataStart);
      const minimumBytes = Math.floor(minimumScanBits(bytes, offset, frame) / 8);
      if (dataEnd - dataStart < minimumBytes) throw corrupt('JPEG scan data is shorter than its blocks need');
      offset = dataEnd;
      continue;
    }
    offset += length;
  }
  if (!frame) throw corrupt('JPEG has no frame header');
  if (scans === 0) throw corrupt('JPEG has no scan');
  return { type: 'jpg', width: frame.width, height: frame.height, decodedPixels: frame.width * frame.height };
}

function readFrame(bytes: Uint8Array, view: DataView, offset: number, progressive: boolean): Frame {
  if (view.getUint16(offset) < 8) throw corrupt('JPEG frame header is truncated');
  const height = view.getUint16(offset + 3);
  const width = view.getUint16(offset + 5);
  checkDimensions(width, height);
  const count = bytes[offset + 7];
  if (count === 0 || 8 + 3 * count > view.getUint16(offset)) throw corrupt('JPEG frame header is truncated');
  const components = new Map<number, { h: number; v: number }>();
  for (let i = 0; i < count; i++) {
    const base = offset + 8 + 3 * i;
    const h = bytes[base + 1] >> 4;
    const v = bytes[base + 1] & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) throw corrupt('JPEG sampling factors out of range');
    components.set(bytes[base], { h, v });
  }
  const factors = [...components.values()];
  return {
    width,
    height,
    progressive,
    components,
    maxH: Math.max(...factors.map((c) => c.h)),
    maxV: Math.max(...factors.map((c) => c.v)),
  };
}

/** Entropy-coded data runs to the first marker that is neither a stuffed 0xFF00 nor a restart. */
function scanDataEnd(bytes: Uint8Array, start: number): number {
  for (let i = start; i + 1 < bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    const next = bytes[i + 1];
    if (next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return i;
  }
  throw corrupt('JPEG ends inside scan data (no EOI)');
}

/** Fewest bits a well-formed scan over these components can have (0 when no bound is known). */
function minimumScanBits(bytes: Uint8Array, sosOffset: number, frame: Frame): number {
  const count = bytes[sosOffset + 2];
  const spectralStart = bytes[sosOffset + 3 + 2 * count];
  const approximationHigh = bytes[sosOffset + 5 + 2 * count] >> 4;
  const bitsPerBlock = !frame.progressive ? 2 : spectralStart === 0 && approximationHigh === 0 ? 1 : 0;
  if (bitsPerBlock === 0) return 0;
  let blocks = 0;
  const mcusX = Math.ceil(frame.width / (8 * frame.maxH));
  const mcusY = Math.ceil(frame.height / (8 * frame.maxV));
  for (let i = 0; i < count; i++) {
    const component = frame.components.get(bytes[sosOffset + 3 + 2 * i]);
    if (!component) throw corrupt('JPEG scan names a component its frame does not have');
    blocks +=
      count === 1
        ? Math.ceil(Math.ceil((frame.width * component.h) / frame.maxH) / 8) * Math.ceil(Math.ceil((frame.height * component.v) / frame.maxV) / 8)
        : mcusX * mcusY * component.h * component.v;
  }
  return blocks * bitsPerBlock;
}
