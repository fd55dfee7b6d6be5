'use strict';
/** The seed corpus, built from the test images: small valid images of every format and issue 11's hostile inputs. */
const { Jimp } = require('jimp');
const hostile = require('../test/helpers/hostile-images');
const { handMadePng } = require('../test/helpers/png');

async function seedCorpus() {
  const small = await hostile.validImages(8, 6);
  const cifar = await hostile.validImages(32, 32);
  const gray = new Jimp({ width: 5, height: 7, color: 0x808080ff });
  return [
    ...Object.values(small),
    ...Object.values(cifar),
    await gray.getBuffer('image/jpeg', { quality: 50 }),
    handMadePng(4, 3, 0, new Uint8Array(12).fill(7)),
    handMadePng(3, 3, 4, new Uint8Array(18).fill(200)),
    hostile.oneBitPng(64, 64),
    hostile.SELF_LOOP_TIFF,
    hostile.HUGE_COUNT_TIFF,
    hostile.HUGE_FRAME_GIF,
    hostile.lzwCycleGif(),
    hostile.truncatedJpeg(cifar.jpeg),
    hostile.jpegCutInScan(cifar.jpeg),
  ];
}

module.exports = { seedCorpus };
