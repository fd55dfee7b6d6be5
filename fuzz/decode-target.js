'use strict';
/**
 * The fuzz target: image bytes into the decoder entry every route uses (header checks, then
 * jimp's decoder and resize). Refusals (ImageDecodeError) are the expected outcome for most
 * inputs; anything else thrown is a finding (serve would answer it 500). Same shape as a
 * Jazzer.js target: `fuzz(data)`. Loads the TypeScript sources (tsx must be registered).
 */
const { decodeImageToRgb32, ImageDecodeError } = require('../src/preprocess');

async function fuzz(data) {
  try {
    const pixels = await decodeImageToRgb32(data);
    if (pixels.length !== 32 * 32 * 3) throw new Error(`decoded to ${pixels.length} bytes, not 32x32x3`);
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw err;
  }
}

module.exports = { fuzz };
