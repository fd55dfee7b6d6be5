'use strict';
/**
 * A small CIFAR-10 set in the official binary layout (per record 1 label byte + 3072
 * channel-planar pixel bytes), seeded, for checks that run the real `mldeploy train`
 * (scripts/pack-check.js, and bench/common.js when there is no trained model).
 */
const fs = require('node:fs');
const path = require('node:path');

/** Writes `<root>/cifar-10-batches-bin/` with 5 training batches of `perBatch` images and a test batch; returns that folder. */
function writeCifar10Fixture(root, perBatch, testCount) {
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir, { recursive: true });
  let state = 12345;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
  const batch = (count) => {
    const bytes = Buffer.alloc(count * 3073);
    for (let r = 0; r < count; r++) {
      const label = r % 10;
      bytes[r * 3073] = label;
      for (let i = 0; i < 3072; i++) bytes[r * 3073 + 1 + i] = Math.floor(((label * 25 + (i >> 10) * 60) % 256) * 0.7 + random() * 70);
    }
    return bytes;
  };
  for (let n = 1; n <= 5; n++) fs.writeFileSync(path.join(dir, `data_batch_${n}.bin`), batch(perBatch));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), batch(testCount));
  return dir;
}

module.exports = { writeCifar10Fixture };
