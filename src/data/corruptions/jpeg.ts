/**
 * CIFAR-10-C's jpeg_compression: PIL's save(format='JPEG', quality=c) and reload. sharp encodes
 * with the libjpeg defaults PIL uses (standard quantisation tables scaled by quality, 4:2:0
 * chroma subsampling; mozjpeg's trellis and tables off) and decodes back to RGB bytes.
 */
import sharp from 'sharp';
import { IMAGE_SIZE } from '../../preprocess';

export async function jpegCompression(image: Uint8Array, quality: number): Promise<Uint8Array> {
  const raw = { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 3 as const };
  const encoded = await sharp(Buffer.from(image.buffer, image.byteOffset, image.byteLength), { raw })
    .jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false, trellisQuantisation: false, overshootDeringing: false, optimiseScans: false, quantisationTable: 0 })
    .toBuffer();
  const { data } = await sharp(encoded).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}
