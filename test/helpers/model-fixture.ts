/**
 * A saved SimpleCNN version for tests: untrained (seeded) weights, a complete metadata.json
 * whose reference profile is computed, as train computes it, from synthetic images run
 * through the same model, so a server built on it reports self-consistent numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel, MODEL_TYPE } from '../../src/model/architectures';
import { saveModelVersion, MetadataDraft } from '../../src/model/artifacts';
import { currentEngine, initEngine } from '../../src/model/engine';
import { buildReferenceProfile, predictSet } from '../../src/model/evaluate';
import { INPUT_SHAPE, PIXELS_PER_IMAGE, PREPROCESSING } from '../../src/preprocess';
import { createRandom } from '../../src/util/random';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const REFERENCE_SAMPLES = 64;

export interface ModelFixtureOptions {
  seed?: number;
}

/** Saves a new model version under `modelsDir` and returns its version directory. */
export async function createModelFixture(modelsDir: string, options: ModelFixtureOptions = {}): Promise<string> {
  const seed = options.seed ?? 42;
  if (!currentEngine()) await initEngine('auto');
  const model = buildModel('simple_cnn', CIFAR10_CLASSES.length, seed);
  const images = { pixels: syntheticImages(REFERENCE_SAMPLES, seed), labels: new Uint8Array(REFERENCE_SAMPLES), count: REFERENCE_SAMPLES };
  const reference = buildReferenceProfile(images, await predictSet(model, images), CIFAR10_CLASSES);

  const draft: MetadataDraft = {
    model_type: MODEL_TYPE.simple_cnn,
    class_names: CIFAR10_CLASSES,
    num_classes: CIFAR10_CLASSES.length,
    input_shape: INPUT_SHAPE,
    preprocessing: { ...PREPROCESSING },
    test_accuracy: 0.1,
    per_class_accuracy: Object.fromEntries(CIFAR10_CLASSES.map((name) => [name, 0.1])),
    confusion_matrix: CIFAR10_CLASSES.map(() => CIFAR10_CLASSES.map(() => 1)),
    training: { config: { architecture: 'simple_cnn', epochs: 0, seed }, history: [], duration_s: 0, img_per_s: 0 },
    dataset: { source: 'test-fixture', format: 'synthetic', digest: `seed-${seed}`, train_count: 0, val_count: 0, test_count: REFERENCE_SAMPLES },
    engine: { backend: currentEngine()!.backend, tfjs_backend: tf.getBackend(), versions: { 'tfjs-core': tf.version_core } },
    reference,
  };
  const saved = await saveModelVersion(model, draft, modelsDir);
  model.dispose();
  return saved.dir;
}

/** Smooth colour gradients plus seeded noise: varied, CIFAR-like statistics, fully repeatable. */
export function syntheticImages(count: number, seed: number): Uint8Array {
  const random = createRandom(seed).next;
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < count; i++) {
    const base = [random() * 200, random() * 200, random() * 200];
    const slope = [random() * 2 - 1, random() * 2 - 1, random() * 2 - 1];
    for (let p = 0; p < 1024; p++) {
      const x = p % 32;
      const y = Math.floor(p / 32);
      for (let c = 0; c < 3; c++) {
        const value = base[c] + slope[c] * (x + y) + (random() - 0.5) * 40;
        pixels[i * PIXELS_PER_IMAGE + p * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return pixels;
}
