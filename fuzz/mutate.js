'use strict';
/**
 * Havoc-style mutations (as AFL/libFuzzer stack them): bit flips, random and "interesting"
 * bytes/words (0, -1, 0x7fff..., sizes) in either byte order, inserts, deletes, duplicated
 * ranges and splices with another corpus entry. Seeded, so a run can be repeated.
 */
const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 4096, 4097, 46340];
const MAX_LENGTH = 16 * 1024;

function createMutator(seed) {
  let state = seed >>> 0 || 1;
  const random = () => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const below = (n) => Math.floor(random() * n);

  const mutations = [
    (b) => {
      if (b.length) b[below(b.length)] ^= 1 << below(8);
      return b;
    },
    (b) => {
      if (b.length) b[below(b.length)] = below(256);
      return b;
    },
    (b) => {
      const width = [1, 2, 4][below(3)];
      if (b.length < width) return b;
      const at = below(b.length - width + 1);
      const value = INTERESTING[below(INTERESTING.length)] % 2 ** (8 * width);
      if (width === 1) b[at] = value;
      else if (width === 2) (random() < 0.5 ? b.writeUInt16LE : b.writeUInt16BE).call(b, value, at);
      else (random() < 0.5 ? b.writeUInt32LE : b.writeUInt32BE).call(b, value >>> 0, at);
      return b;
    },
    (b) => {
      const at = below(b.length + 1);
      const bytes = Buffer.from(Array.from({ length: 1 + below(16) }, () => below(256)));
      return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
    },
    (b) => {
      if (b.length < 2) return b;
      const at = below(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + below(Math.min(64, b.length - at)))]);
    },
    (b) => {
      if (b.length < 2) return b;
      const at = below(b.length);
      const length = 1 + below(Math.min(256, b.length - at));
      const to = below(b.length + 1);
      return Buffer.concat([b.subarray(0, to), b.subarray(at, at + length), b.subarray(to)]);
    },
    (b) => b.subarray(0, below(b.length + 1)),
  ];

  /** A mutated copy of one corpus entry (sometimes spliced with another). */
  return function mutate(corpus) {
    let bytes = Buffer.from(corpus[below(corpus.length)]);
    if (random() < 0.1) {
      const other = corpus[below(corpus.length)];
      bytes = Buffer.concat([bytes.subarray(0, below(bytes.length + 1)), other.subarray(below(other.length + 1))]);
    }
    for (let i = 1 + below(5); i > 0; i--) bytes = mutations[below(mutations.length)](bytes);
    return bytes.length > MAX_LENGTH ? bytes.subarray(0, MAX_LENGTH) : bytes;
  };
}

module.exports = { createMutator };
