/**
 * PNG chunk walk: IHDR first, every chunk inside the file, IDAT present, IEND reached. (That the
 * image data inflates to exactly its rows is checked as it is decoded: png-decode.ts.)
 */
import { checkDimensions, corrupt, ImageHeader } from './decode-limits';

export function readPngHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  let width = 0;
  let height = 0;
  let idat = false;
  for (let offset = 8, first = true; ; first = false) {
    if (offset + 12 > bytes.length) throw corrupt('PNG ends before its IEND chunk');
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > bytes.length) throw corrupt(`PNG chunk ${type} runs past the end of the file`);
    if (first) {
      if (type !== 'IHDR' || length !== 13) throw corrupt('PNG does not start with an IHDR chunk');
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      checkDimensions(width, height);
    }
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (!idat) throw corrupt('PNG has no image data (IDAT)');
  return { type: 'png', width, height, decodedPixels: width * height };
}
