#!/usr/bin/env node
'use strict';
/**
 * npm run bench:decode
 *
 * jimp (what src/preprocess decodes with) against sharp (libvips) on the decode step alone:
 *  - safety: each hostile input of issue 11 through jimp behind our header checks, and through
 *    sharp with `limitInputPixels` and `failOn: 'truncated'`: outcome and time;
 *  - speed: bytes -> 32x32 RGB for the common case (32x32 PNG and JPEG) and a 300x200 JPEG,
 *    sequential and 16 at a time, median of 5 alternating rounds;
 *  - sameness: how far sharp's pixels are from the ones the models were trained on.
 * Runs the compiled code in dist/ (built if missing) and the test image builders through tsx.
 */
require('tsx/cjs');
const path = require('node:path');
const { Jimp } = require('jimp');
const sharp = require('sharp');
const { root, log, ensureBuilt } = require('./common');

ensureBuilt();
const { decodeImageToRgb32, MAX_IMAGE_PIXELS } = require(path.join(root, 'dist', 'preprocess'));
const hostile = require(path.join(root, 'test', 'helpers', 'hostile-images'));

const viaSharp = (bytes) =>
  sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'truncated' })
    .removeAlpha()
    .resize(32, 32, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();

async function outcome(decode, bytes) {
  const start = process.hrtime.bigint();
  let result;
  try {
    await decode(bytes);
    result = 'decoded';
  } catch (err) {
    result = `refused (${(err.code || err.message).toString().slice(0, 60)})`;
  }
  return `${result}, ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`;
}

async function perImageMs(decode, images, concurrency) {
  const start = process.hrtime.bigint();
  const rounds = 500;
  for (let i = 0; i < rounds; i += concurrency) {
    await Promise.all(Array.from({ length: concurrency }, (_, k) => decode(images[(i + k) % images.length])));
  }
  return Number(process.hrtime.bigint() - start) / 1e6 / rounds;
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function main() {
  const small = await hostile.validImages(32, 32);
  const large = await hostile.validImages(300, 200);
  log('## safety: outcome and time per hostile input');
  log('| input | jimp + header checks | sharp (limitInputPixels, failOn truncated) |');
  log('| --- | --- | --- |');
  const cases = {
    'TIFF IFD pointing at itself': hostile.SELF_LOOP_TIFF,
    'TIFF tag count 0xFFFFFFFF': hostile.HUGE_COUNT_TIFF,
    'GIF frame 46340x46340 on a 1x1 screen': hostile.HUGE_FRAME_GIF,
    'JPEG cut before its scan + EOI': hostile.truncatedJpeg(small.jpeg),
    'JPEG cut 2 bytes into its scan + EOI': hostile.jpegCutInScan(small.jpeg),
    'PNG without IEND': small.png.subarray(0, small.png.length - 12),
    '1-bit 4000x4000 PNG (2 KB)': hostile.oneBitPng(4000, 4000),
    'valid 32x32 BMP': small.bmp,
  };
  for (const [name, bytes] of Object.entries(cases)) {
    log(`| ${name} | ${await outcome(decodeImageToRgb32, bytes)} | ${await outcome(viaSharp, bytes)} |`);
  }

  log('\n## speed: ms per image, bytes -> 32x32 RGB (median of 5 alternating rounds)');
  log('| images | concurrency | jimp | sharp |');
  log('| --- | ---: | ---: | ---: |');
  for (const [name, images] of [['32x32 PNG', [small.png]], ['32x32 JPEG', [small.jpeg]], ['300x200 JPEG', [large.jpeg]]]) {
    for (const concurrency of [1, 16]) {
      const times = { jimp: [], sharp: [] };
      for (let round = 0; round < 5; round++) {
        for (const which of round % 2 ? ['sharp', 'jimp'] : ['jimp', 'sharp']) {
          times[which].push(await perImageMs(which === 'jimp' ? decodeImageToRgb32 : viaSharp, images, concurrency));
        }
      }
      log(`| ${name} | ${concurrency} | ${median(times.jimp).toFixed(3)} | ${median(times.sharp).toFixed(3)} |`);
    }
  }

  log('\n## sameness: sharp vs jimp pixels (what the models were trained on)');
  const gradient = new Jimp({ width: 300, height: 200 });
  gradient.scan((x, y, i) => gradient.bitmap.data.set([x % 256, y, (x + y) % 256, 255], i));
  const smooth = await gradient.getBuffer('image/png');
  const samples = [['32x32 PNG', small.png], ['32x32 JPEG', small.jpeg], ['300x200 gradient PNG (resized)', smooth], ['300x200 noise PNG (resized)', large.png]];
  for (const [name, bytes] of samples) {
    const a = await decodeImageToRgb32(bytes);
    const b = await viaSharp(bytes);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      max = Math.max(max, d);
      sum += d;
    }
    log(`${name}: max |diff| ${max}, mean |diff| ${(sum / a.length).toFixed(2)} (0-255 levels)`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
