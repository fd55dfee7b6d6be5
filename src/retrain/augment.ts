/**
 * The plan applied to training images: every clean image kept, plus round(share x N) extra
 * copies of seeded-random images, each copy transformed by one of the plan's transforms
 * (augmentations drawn uniformly, then one of its severities), through the same scenario code
 * drift measures with. The result is shuffled, so held-out tails and batches mix both kinds.
 */
import { pickImages, shuffledOrder } from '../data/sample';
import type { ImageSet } from '../data/types';
import { applyScenario } from '../drift/scenarios';
import { PIXELS_PER_IMAGE } from '../preprocess';
import { createRandom, deriveSeed } from '../util/random';
import type { AugmentationPlan } from './plan';

export interface AugmentedSet {
  images: ImageSet;
  /** Extra copies per transform name. */
  copies: Record<string, number>;
}

export async function augmentImages(clean: ImageSet, plan: AugmentationPlan, seed: number): Promise<AugmentedSet> {
  if (plan.augmentations.length === 0 || clean.count === 0) return { images: clean, copies: {} };
  const extra = Math.round(plan.share * clean.count);
  const random = createRandom(deriveSeed(seed, 'retrain-augment'));
  const byTransform = new Map<string, number[]>();
  for (let i = 0; i < extra; i++) {
    const augmentation = plan.augmentations[Math.floor(random.next() * plan.augmentations.length)];
    const transform = augmentation.transforms[Math.floor(random.next() * augmentation.transforms.length)];
    const source = Math.floor(random.next() * clean.count);
    const indices = byTransform.get(transform) ?? [];
    indices.push(source);
    byTransform.set(transform, indices);
  }
  const parts: ImageSet[] = [clean];
  const copies: Record<string, number> = {};
  for (const [transform, indices] of [...byTransform].sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(await applyScenario(transform, pickImages(clean, indices), deriveSeed(seed, `retrain-augment:${transform}`)));
    copies[transform] = indices.length;
  }
  const joined = concatImages(parts);
  return { images: pickImages(joined, shuffledOrder(joined.count, deriveSeed(seed, 'retrain-shuffle'))), copies };
}

export function concatImages(parts: ImageSet[]): ImageSet {
  const count = parts.reduce((n, p) => n + p.count, 0);
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const part of parts) {
    pixels.set(part.pixels.subarray(0, part.count * PIXELS_PER_IMAGE), at * PIXELS_PER_IMAGE);
    labels.set(part.labels.subarray(0, part.count), at);
    at += part.count;
  }
  return { pixels, labels, count };
}
