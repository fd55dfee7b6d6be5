import { transposeBlocked } from '../src/util/transpose';

function matrix(rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, (_, i) => i + 1);
}

/** The transpose by definition, limited to source positions in [from, to); 0 elsewhere. */
function expected(src: Float32Array, rows: number, cols: number, from = 0, to = rows * cols): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = from; i < to; i++) out[(i % cols) * rows + Math.floor(i / cols)] = src[i];
  return out;
}

describe('transposeBlocked', () => {
  // Wide, tall, square, smaller than a block, not a multiple of the block size, one row, one column.
  it.each([
    [3, 200],
    [200, 3],
    [130, 130],
    [5, 7],
    [1, 90],
    [90, 1],
  ])('transposes a %i x %i matrix', (rows, cols) => {
    const src = matrix(rows, cols);
    const dst = new Float32Array(rows * cols);
    transposeBlocked(src, rows, cols, dst);
    expect(dst).toEqual(expected(src, rows, cols));
  });

  it.each([
    [150, 70, 0, 150 * 70],
    [150, 70, 69, 71],
    [150, 70, 1234, 9001],
    [70, 150, 5000, 5001],
    [70, 150, 150 * 64 + 3, 150 * 70],
  ])('writes only the range of a %i x %i matrix from %i to %i', (rows, cols, from, to) => {
    const src = matrix(rows, cols);
    const dst = new Float32Array(rows * cols);
    transposeBlocked(src, rows, cols, dst, from, to);
    expect(dst).toEqual(expected(src, rows, cols, from, to));
  });
});
