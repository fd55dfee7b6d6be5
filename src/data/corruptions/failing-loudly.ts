/**
 * The synthetic shifts of the "Failing Loudly" protocol (Rabanser, Günnemann, Lipton, NeurIPS
 * 2019, shift_applicator.py), as pure functions of 32x32x3 uint8 images:
 * - Gaussian noise of std 1, 10 or 100 levels (0-255 scale) on 10 %, 50 % or 100 % of the images;
 * - image transformations small / medium / large, Keras ImageDataGenerator.random_transform
 *   with their ranges (rotation in degrees; shifts as a fraction of the side; shear in degrees,
 *   as Keras reads shear_range; zoom factor drawn per axis in [1 - z, 1 + z]; flips with
 *   probability 1/2), bilinear interpolation with edge pixels repeated ('nearest');
 * - knock-out of class 0: a fraction of the class-0 images removed (a label shift).
 * Results are rounded to the nearest level.
 */
import { IMAGE_SIZE } from '../../preprocess';
import type { Random } from '../../util/random';

export const NOISE_STDS = [1, 10, 100] as const;
export const AFFECTED_PERCENTS = [10, 50, 100] as const;

export interface TransformRanges {
  rotation: number;
  shift: number;
  shear: number;
  zoom: number;
  horizontalFlip: boolean;
  verticalFlip: boolean;
}

export const IMAGE_TRANSFORMS = {
  small: { rotation: 10, shift: 0.05, shear: 0.1, zoom: 0.1, horizontalFlip: false, verticalFlip: false },
  medium: { rotation: 40, shift: 0.2, shear: 0.2, zoom: 0.2, horizontalFlip: true, verticalFlip: false },
  large: { rotation: 90, shift: 0.4, shear: 0.3, zoom: 0.4, horizontalFlip: true, verticalFlip: true },
} as const satisfies Record<string, TransformRanges>;
export type TransformSize = keyof typeof IMAGE_TRANSFORMS;

/** One image's drawn transform, in Keras' parameter names. */
export interface AffineParameters {
  theta: number;
  tx: number;
  ty: number;
  shear: number;
  zx: number;
  zy: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
}

const SIDE = IMAGE_SIZE;

export function addNoise(image: Uint8Array, std: number, random: Random): Uint8Array {
  return Uint8Array.from(image, (v) => clampByte(v + std * random.normal()));
}

/** ImageDataGenerator.get_random_transform, in its order of draws. */
export function drawAffine(ranges: TransformRanges, random: Random): AffineParameters {
  const uniform = (low: number, high: number) => low + (high - low) * random.next();
  return {
    theta: uniform(-ranges.rotation, ranges.rotation),
    tx: uniform(-ranges.shift, ranges.shift) * SIDE,
    ty: uniform(-ranges.shift, ranges.shift) * SIDE,
    shear: uniform(-ranges.shear, ranges.shear),
    zx: uniform(1 - ranges.zoom, 1 + ranges.zoom),
    zy: uniform(1 - ranges.zoom, 1 + ranges.zoom),
    flipHorizontal: ranges.horizontalFlip && random.next() < 0.5,
    flipVertical: ranges.verticalFlip && random.next() < 0.5,
  };
}

/**
 * Keras apply_affine_transform: matrix = rotation @ shift @ shear @ zoom about the image centre,
 * applied as scipy.ndimage.affine_transform (output (row, col) -> input matrix @ (row, col) +
 * offset, order 1, mode 'nearest'), then the flips.
 */
export function affineTransform(image: Uint8Array, p: AffineParameters): Uint8Array {
  const theta = (p.theta * Math.PI) / 180;
  const shear = (p.shear * Math.PI) / 180;
  const rotation = [Math.cos(theta), -Math.sin(theta), 0, Math.sin(theta), Math.cos(theta), 0];
  const shift = [1, 0, p.tx, 0, 1, p.ty];
  const shearMatrix = [1, -Math.sin(shear), 0, 0, Math.cos(shear), 0];
  const zoom = [p.zx, 0, 0, 0, p.zy, 0];
  const centre = SIDE / 2 - 0.5;
  const matrix = [[1, 0, centre, 0, 1, centre], rotation, shift, shearMatrix, zoom, [1, 0, -centre, 0, 1, -centre]].reduce(multiplyAffine);
  const out = new Uint8Array(image.length);
  for (let row = 0; row < SIDE; row++) {
    for (let col = 0; col < SIDE; col++) {
      const sourceRow = clampCoordinate(matrix[0] * row + matrix[1] * col + matrix[2]);
      const sourceCol = clampCoordinate(matrix[3] * row + matrix[4] * col + matrix[5]);
      const r0 = Math.min(Math.floor(sourceRow), SIDE - 2);
      const c0 = Math.min(Math.floor(sourceCol), SIDE - 2);
      const fr = sourceRow - r0;
      const fc = sourceCol - c0;
      const targetRow = p.flipVertical ? SIDE - 1 - row : row;
      const targetCol = p.flipHorizontal ? SIDE - 1 - col : col;
      for (let c = 0; c < 3; c++) {
        const at = (r: number, q: number) => image[(r * SIDE + q) * 3 + c];
        const top = at(r0, c0) * (1 - fc) + at(r0, c0 + 1) * fc;
        const bottom = at(r0 + 1, c0) * (1 - fc) + at(r0 + 1, c0 + 1) * fc;
        out[(targetRow * SIDE + targetCol) * 3 + c] = clampByte(top * (1 - fr) + bottom * fr);
      }
    }
  }
  return out;
}

/** Product of two 2x3 affine matrices (implicit last row 0 0 1), row-major. */
function multiplyAffine(a: number[], b: number[]): number[] {
  return [
    a[0] * b[0] + a[1] * b[3],
    a[0] * b[1] + a[1] * b[4],
    a[0] * b[2] + a[1] * b[5] + a[2],
    a[3] * b[0] + a[4] * b[3],
    a[3] * b[1] + a[4] * b[4],
    a[3] * b[2] + a[4] * b[5] + a[5],
  ];
}

function clampCoordinate(value: number): number {
  return Math.min(SIDE - 1, Math.max(0, value));
}

function clampByte(value: number): number {
  return Math.min(255, Math.max(0, Math.round(value)));
}
