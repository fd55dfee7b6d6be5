/**
 * PNG decode with one inflate that is checked: pngjs's own steps (its chunk parser, unfilter,
 * bitmapper and format normaliser, as PNG.sync.read runs them, so the pixels are the same), but
 * the image data is inflated once by zlib with an output cap and must come to exactly the bytes
 * the rows need. PNG.sync.read takes a stream that ends early as an image and inflates interlaced
 * data without a cap; checking that with a second inflate cost serve about 10 % per request.
 */
import { inflateSync } from 'node:zlib';
import { corrupt } from './decode-limits';

interface PngMetadata {
  width: number;
  height: number;
  depth: number;
  bpp: number;
  interlace: boolean;
  palette?: unknown;
  transColor?: unknown;
  alpha?: boolean;
}

interface PngjsParser {
  start(): void;
}

/* eslint-disable @typescript-eslint/no-require-imports -- pngjs's internal steps have no typings */
const SyncReader = require('pngjs/lib/sync-reader') as new (buffer: Buffer) => { read: (...args: unknown[]) => void; process(): void };
const Parser = require('pngjs/lib/parser') as new (options: object, handlers: Record<string, (value: never) => void>) => PngjsParser;
const FilterSync = require('pngjs/lib/filter-parse-sync') as { process(data: Buffer, metadata: PngMetadata): Buffer };
const bitmapper = require('pngjs/lib/bitmapper') as { dataToBitMap(data: Buffer, metadata: PngMetadata): Buffer };
const normaliseFormat = require('pngjs/lib/format-normaliser') as (data: Buffer, metadata: PngMetadata, skipRescale?: boolean) => Buffer;
/* eslint-enable @typescript-eslint/no-require-imports */

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

/** Bytes of filtered scanlines (one filter byte per row) the image's size and format need. */
function expectedDataBytes({ width, height, bpp, depth, interlace }: PngMetadata): number {
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (((w * bpp * depth + 7) >> 3) + 1) : 0);
  if (!interlace) return rows(width, height);
  return ADAM7.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)), 0);
}

/** PNG bytes -> RGBA, exactly as PNG.sync.read, refusing image data that is cut short, short or long. */
export function decodePng(bytes: Buffer): { data: Buffer; width: number; height: number } {
  let error: Error | undefined;
  let metadata: PngMetadata | undefined;
  const chunks: Buffer[] = [];
  const reader = new SyncReader(bytes);
  const parser = new Parser(
    {},
    {
      read: reader.read.bind(reader),
      error: (err: Error) => (error = err),
      metadata: (value: PngMetadata) => (metadata = value),
      gamma: () => undefined,
      palette: (palette: unknown) => metadata && (metadata.palette = palette),
      transColor: (color: unknown) => metadata && (metadata.transColor = color),
      inflateData: (data: Buffer) => chunks.push(data),
      simpleTransparency: () => metadata && (metadata.alpha = true),
    },
  );
  parser.start();
  reader.process();
  if (error) throw error;
  if (!metadata) throw corrupt('PNG has no header');
  const expected = expectedDataBytes(metadata);
  let inflated: Buffer;
  try {
    inflated = inflateSync(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), { maxOutputLength: expected + 1 });
  } catch (err) {
    throw corrupt(`PNG image data does not inflate to its ${expected} bytes (${(err as Error).message})`);
  }
  if (inflated.length !== expected) throw corrupt(`PNG image data inflates to ${inflated.length} bytes, its rows need ${expected}`);
  const data = normaliseFormat(bitmapper.dataToBitMap(FilterSync.process(inflated, metadata), metadata), metadata);
  return { data, width: metadata.width, height: metadata.height };
}
