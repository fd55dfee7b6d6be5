import { crc32, deflateSync } from 'node:zlib';

/**
 * Builds a PNG by hand, so tests can make the colour types and header lies that
 * encoders refuse to produce (grayscale, gray+alpha, 30000x30000 declared sizes).
 * colorType: 0 gray, 2 RGB, 4 gray+alpha, 6 RGBA; `pixels` holds width*height*channels bytes.
 */
export function handMadePng(width: number, height: number, colorType: 0 | 2 | 4 | 6, pixels: Uint8Array): Buffer {
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  const rowBytes = width * channels;
  const raw = Buffer.alloc((rowBytes + 1) * Math.min(height, pixels.length / rowBytes || 0));
  for (let y = 0; y * rowBytes < pixels.length && y < height; y++) {
    raw[y * (rowBytes + 1)] = 0; // filter: none
    Buffer.from(pixels.subarray(y * rowBytes, (y + 1) * rowBytes)).copy(raw, y * (rowBytes + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = colorType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}
