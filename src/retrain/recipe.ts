/**
 * The stable version's training recipe, read from its metadata.json: architecture, epochs,
 * batch size, learning rate, seed, limit and validation split (a retrained version's own
 * `retrain.recipe`, since its training.config describes the augmented set). Flags may override.
 */
import { z } from 'zod';
import { ARCHITECTURES } from '../model/architectures';
import type { ModelMetadata } from '../model/metadata';
import { ModelError } from '../errors';
import { describeInvalid } from '../util/validation';

export const recipeSchema = z.object({
  architecture: z.enum(ARCHITECTURES),
  epochs: z.number().int().positive(),
  batch_size: z.number().int().positive(),
  learning_rate: z.number().positive(),
  seed: z.number().int(),
  limit: z.number().int().positive().nullable(),
  val_split: z.number().min(0).lt(1),
});
export type Recipe = z.infer<typeof recipeSchema>;

export type RecipeOverrides = Partial<Pick<Recipe, 'epochs' | 'batch_size' | 'limit'>>;

export function recipeOf(metadata: ModelMetadata, overrides: RecipeOverrides = {}): Recipe {
  const retrain = (metadata as { retrain?: { recipe?: unknown } }).retrain;
  const stored = retrain?.recipe ?? metadata.training.config;
  const parsed = recipeSchema.safeParse({ limit: null, val_split: 0, ...(stored as object) });
  if (!parsed.success) throw new ModelError(describeInvalid(`the training recipe of ${metadata.version} (metadata.json training.config)`, parsed.error));
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...parsed.data, ...defined };
}
