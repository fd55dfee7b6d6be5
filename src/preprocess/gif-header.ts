/**
 * GIF block walk: logical screen, then every block to the trailer, each image descriptor's size
 * checked (the decoder walks every frame's header and decodes frame 0 at its declared size).
 * Frame 0's LZW codes are then replayed without producing pixels: omggif follows a code past
 * the next free table slot as if it were valid, which can make its code table point into a
 * cycle, and its decode loop then never ends (found by `npm run test:fuzz`).
 */
import { checkDimensions, checkTotalPixels, corrupt, ImageHeader } from './decode-limits';

export function readGifHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  if (bytes.length < 13) throw corrupt('GIF header is truncated');
  const width = view.getUint16(6, true);
  const height = view.getUint16(8, true);
  checkDimensions(width, height, 'GIF logical screen');
  let offset = 13 + colorTableBytes(bytes[10]);
  let firstFrame = 0;
  let frames = 0;
  const skipSubBlocks = () => {
    while (offset < bytes.length && bytes[offset] !== 0) offset += bytes[offset] + 1;
    if (offset >= bytes.length) throw corrupt('GIF ends inside a data block');
    offset++;
  };
  for (;;) {
    if (offset >= bytes.length) throw corrupt('GIF ends before its trailer');
    const introducer = bytes[offset];
    if (introducer === 0x3b) break;
    if (introducer === 0x21) {
      offset += 2;
      skipSubBlocks();
    } else if (introducer === 0x2c) {
      if (offset + 11 > bytes.length) throw corrupt('GIF image descriptor is truncated');
      const frameWidth = view.getUint16(offset + 5, true);
      const frameHeight = view.getUint16(offset + 7, true);
      checkDimensions(frameWidth, frameHeight, `GIF frame ${frames}`);
      offset += 10 + colorTableBytes(bytes[offset + 9]); // descriptor, local colour table
      const codeStart = offset;
      offset++; // LZW minimum code size
      skipSubBlocks();
      if (frames === 0) {
        firstFrame = frameWidth * frameHeight;
        checkLzwCodes(bytes, codeStart);
      }
      frames++;
    } else {
      throw corrupt(`unknown GIF block 0x${introducer.toString(16)}`);
    }
  }
  if (frames === 0) throw corrupt('GIF has no image');
  const decodedPixels = width * height + firstFrame;
  checkTotalPixels(decodedPixels, 'the GIF screen and its first frame');
  return { type: 'gif', width, height, decodedPixels };
}

function colorTableBytes(packed: number): number {
  return packed & 0x80 ? 3 * (1 << ((packed & 0x07) + 1)) : 0;
}

/**
 * Reads the code stream at `start` (minimum code size, then sub-blocks the walk has already
 * found to end inside the file) exactly as omggif does, tracking only the table size: every code must be a clear,
 * the end, a literal or an existing entry, or the next entry right after another code.
 */
function checkLzwCodes(bytes: Uint8Array, start: number): void {
  const minCodeSize = bytes[start];
  if (minCodeSize < 2 || minCodeSize > 8) throw corrupt(`GIF LZW minimum code size ${minCodeSize}`);
  const clearCode = 1 << minCodeSize;
  const endCode = clearCode + 1;
  let nextCode = endCode + 1;
  let codeSize = minCodeSize + 1;
  let codeMask = (1 << codeSize) - 1;
  let bits = 0;
  let bitCount = 0;
  let p = start + 1;
  let blockLeft = bytes[p++];
  let previous: number | null = null;
  for (;;) {
    while (bitCount < 16 && blockLeft !== 0) {
      bits |= bytes[p++] << bitCount;
      bitCount += 8;
      blockLeft = blockLeft === 1 ? bytes[p++] : blockLeft - 1;
    }
    if (bitCount < codeSize) return;
    const code = bits & codeMask;
    bits >>= codeSize;
    bitCount -= codeSize;
    if (code === clearCode) {
      nextCode = endCode + 1;
      codeSize = minCodeSize + 1;
      codeMask = (1 << codeSize) - 1;
      previous = null;
      continue;
    }
    if (code === endCode) return;
    if (code > nextCode || (code === nextCode && previous === null)) throw corrupt('GIF image data has an LZW code past its table');
    if (previous !== null && nextCode < 4096) {
      nextCode++;
      if (nextCode >= codeMask + 1 && codeSize < 12) {
        codeSize++;
        codeMask = (codeMask << 1) | 1;
      }
    }
    previous = code;
  }
}
