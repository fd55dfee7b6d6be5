/** The retrain decision, plan, augmentation, training source, recipe and verdict: pure parts, no training. */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCifar10 } from '../src/data/cifar10';
import { applyScenario } from '../src/drift/scenarios';
import { augmentImages } from '../src/retrain/augment';
import { judge } from '../src/retrain/compare';
import { decideFromLive, decideFromLog, parseIfRules } from '../src/retrain/decide';
import { planAugmentations } from '../src/retrain/plan';
import { recipeOf } from '../src/retrain/recipe';
import { writeTrainingSource } from '../src/retrain/training-source';
import type { ModelMetadata } from '../src/model/metadata';
import { PIXELS_PER_IMAGE } from '../src/preprocess';
import { CIFAR10_NAMES, fixtureImage, seededRandom } from './helpers/cifar-fixtures';
import { driftLogOf, liveMonitoringOf } from './helpers/retrain-fixtures';

const LOG_SOURCE = { path: 'performance_log.json', sha256: 'ab'.repeat(32) };

function images(count: number, seed = 1) {
  const random = seededRandom(seed);
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 10;
    pixels.set(fixtureImage(labels[i], random), i * PIXELS_PER_IMAGE);
  }
  return { pixels, labels, count };
}

describe('decideFromLog', () => {
  const log = driftLogOf([
    { name: 'clean' },
    { name: 'gaussian_noise:3', psi: 0.9, detected: true },
    { name: 'brightness:1', psi: 0.05, detected: false },
    { name: 'cifar100', psi: 0.4, detected: true },
  ]);

  it('picks the scenarios where an --if rule holds, with the value', () => {
    const decision = decideFromLog(log, parseIfRules(['psi>0.2']), LOG_SOURCE);
    expect(decision.drifted.map((d) => d.name)).toEqual(['gaussian_noise:3', 'cifar100']);
    expect(decision.drifted[0].reasons).toEqual(['--if psi>0.2: value 0.9']);
    expect(decision.rules).toEqual(['psi>0.2']);
  });

  it('finds nothing when no scenario breaks the rules (the no-retrain case)', () => {
    expect(decideFromLog(log, parseIfRules(['psi>5']), LOG_SOURCE).drifted).toEqual([]);
  });

  it("without --if uses the log's failed gate rules and the detector's flags", () => {
    const failing = driftLogOf([{ name: 'clean' }, { name: 'blur', psi: 0.3 }, { name: 'jpeg', detected: true }], [{ rule: 'psi>0.2', scenario: 'blur', value: 0.3 }]);
    const decision = decideFromLog(failing, [], LOG_SOURCE);
    expect(decision.drifted.map((d) => [d.name, d.reasons.length])).toEqual([
      ['blur', 1],
      ['jpeg', 1],
    ]);
    expect(decision.drifted[1].reasons[0]).toMatch(/^drift detected/);
  });

  it('rejects a malformed rule and a rule naming a scenario the log lacks', () => {
    expect(() => parseIfRules(['psi>>0.2'])).toThrow(/invalid/);
    expect(() => decideFromLog(log, parseIfRules(['rotate:psi>0.2']), LOG_SOURCE)).toThrow(/--if rule "rotate:psi>0.2" names scenario "rotate"/);
  });
});

describe('decideFromLive', () => {
  it('a detected window drifts, with the input signals whose tests fired', () => {
    const decision = decideFromLive(liveMonitoringOf('v3', true, ['noise']), [], 'http://127.0.0.1:8000');
    expect(decision.model_version).toBe('v3');
    expect(decision.drifted).toHaveLength(1);
    expect(decision.drifted[0].fired_signals).toEqual(['noise']);
    expect(decision.drifted[0].reasons.join(' ')).toMatch(/estimated accuracy 60\.0%/);
    expect(decision.drifted[0].reasons).toContain('tests fired: 1 softmax, input noise');
  });

  it('an undetected or untested window does not; --if rules decide instead when given', () => {
    expect(decideFromLive(liveMonitoringOf('v3', false), [], 'u').drifted).toEqual([]);
    expect(decideFromLive(liveMonitoringOf('v3', null), [], 'u').drifted).toEqual([]);
    expect(decideFromLive(liveMonitoringOf('v3', false, [], 0.5), parseIfRules(['estimated_accuracy<0.6']), 'u').drifted).toHaveLength(1);
    expect(decideFromLive(liveMonitoringOf('v3', true, [], 0.7), parseIfRules(['estimated_accuracy<0.6']), 'u').drifted).toEqual([]);
  });
});

describe('planAugmentations', () => {
  const drifted = (...names: string[]) => names.map((name) => ({ name, reasons: [], fired_signals: [] }));

  it('a CIFAR-10-C corruption gets its severity and the neighbours, compared on the drifted one', () => {
    const plan = planAugmentations(drifted('gaussian_noise:3', 'contrast:5', 'brightness:1'));
    expect(plan.augmentations).toEqual([
      { for_scenario: 'gaussian_noise:3', transforms: ['gaussian_noise:2', 'gaussian_noise:3', 'gaussian_noise:4'], evaluate_on: 'gaussian_noise:3' },
      { for_scenario: 'contrast:5', transforms: ['contrast:4', 'contrast:5'], evaluate_on: 'contrast:5' },
      { for_scenario: 'brightness:1', transforms: ['brightness:1', 'brightness:2'], evaluate_on: 'brightness:1' },
    ]);
  });

  it('noise scenarios become noise on every copy; workshop scenarios apply as they are', () => {
    const plan = planAugmentations(drifted('noise_std10:50%', 'noisy', 'transform:small'));
    expect(plan.augmentations.map((a) => a.transforms)).toEqual([['noise_std10:100%'], ['noisy'], ['transform:small']]);
    expect(plan.augmentations[0].evaluate_on).toBe('noise_std10:50%');
  });

  it('reports what augmentation cannot address instead of dropping it', () => {
    const plan = planAugmentations(drifted('cifar100', 'knockout_class0:50%', 'street', 'clean', 'blur'));
    expect(plan.augmentations.map((a) => a.for_scenario)).toEqual(['blur']);
    expect(plan.unaddressable.map((u) => u.scenario)).toEqual(['cifar100', 'knockout_class0:50%', 'street', 'clean']);
    expect(plan.unaddressable[0].reason).toMatch(/new classes/);
    expect(plan.unaddressable[1].reason).toMatch(/label shift/);
  });

  it('a live window: the corruptions its fired input tests point at, else the whole general set', () => {
    const live = (signals: string[]) => planAugmentations([{ name: 'live', reasons: [], fired_signals: signals }]);
    expect(live(['brightness']).augmentations).toEqual([{ for_scenario: 'live', transforms: ['brightness:1', 'brightness:2', 'brightness:3'], evaluate_on: 'brightness:2' }]);
    expect(live(['noise']).augmentations.map((a) => a.evaluate_on)).toEqual(['gaussian_noise:2', 'gaussian_blur:2']);
    expect(live([]).augmentations.map((a) => a.evaluate_on)).toEqual(['gaussian_noise:2', 'gaussian_blur:2', 'brightness:2', 'contrast:2']);
  });

  it('rejects a share outside (0, 4]', () => {
    expect(() => planAugmentations(drifted('blur'), 0)).toThrow(/--share/);
  });
});

describe('augmentImages', () => {
  const clean = images(40);
  const plan = planAugmentations([{ name: 'gaussian_noise:3', reasons: [], fired_signals: [] }], 0.5);

  it('keeps every clean image and adds share x N transformed copies, same labels, seeded', async () => {
    const a = await augmentImages(clean, plan, 7);
    const b = await augmentImages(clean, plan, 7);
    expect(a.images.count).toBe(60);
    expect(Object.values(a.copies).reduce((x, y) => x + y, 0)).toBe(20);
    expect(Object.keys(a.copies).every((t) => plan.augmentations[0].transforms.includes(t))).toBe(true);
    expect(Buffer.from(a.images.pixels).equals(Buffer.from(b.images.pixels))).toBe(true);
    // Every clean image is still there (its bytes), among the shuffled set.
    const all = new Set(Array.from({ length: a.images.count }, (_, i) => Buffer.from(a.images.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)).toString('base64')));
    for (let i = 0; i < clean.count; i++) expect(all.has(Buffer.from(clean.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)).toString('base64'))).toBe(true);
  });

  it("a copy is the scenario code's transform of its source image (contrast has no randomness)", async () => {
    const one = { pixels: clean.pixels.slice(0, PIXELS_PER_IMAGE), labels: clean.labels.slice(0, 1), count: 1 };
    const augmented = await augmentImages(one, planAugmentations([{ name: 'contrast:5', reasons: [], fired_signals: [] }], 1), 3);
    const expected = await applyScenario(Object.keys(augmented.copies)[0], one, 0);
    const copies = [0, 1].map((i) => Buffer.from(augmented.images.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)).toString('base64'));
    expect(copies).toContain(Buffer.from(expected.pixels).toString('base64'));
    expect(Array.from(augmented.images.labels)).toEqual([one.labels[0], one.labels[0]]);
  });

  it('an empty plan leaves the images as they are', async () => {
    const same = await augmentImages(clean, { share: 0.5, augmentations: [], unaddressable: [] }, 1);
    expect(same.images).toBe(clean);
  });
});

describe('writeTrainingSource', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'retrain-source-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a CIFAR-10 binary folder the loader reads back byte for byte', async () => {
    const train = images(23, 2);
    const test = images(7, 3);
    const root = await writeTrainingSource(path.join(dir, 'data'), train, test, CIFAR10_NAMES);
    const loaded = await loadCifar10({ source: root, dataDir: path.join(dir, 'cache') });
    expect(Buffer.from(loaded.train.pixels).equals(Buffer.from(train.pixels))).toBe(true);
    expect(Array.from(loaded.train.labels)).toEqual(Array.from(train.labels));
    expect(Buffer.from(loaded.test.pixels).equals(Buffer.from(test.pixels))).toBe(true);
    expect(loaded.classNames).toEqual(CIFAR10_NAMES);
  });

  it('refuses datasets the layout cannot hold', async () => {
    await expect(writeTrainingSource(dir, images(23), images(2), ['cat', 'dog'])).rejects.toThrow(/10 classes/);
    await expect(writeTrainingSource(dir, images(3), images(2), CIFAR10_NAMES)).rejects.toThrow(/at least 5/);
  });
});

describe('recipeOf', () => {
  const config = { architecture: 'simple_cnn', epochs: 5, batch_size: 64, learning_rate: 0.001, optimizer: 'adam', seed: 42, limit: null, val_split: 0 };
  const metadata = (extra: object) => ({ version: 'v1', training: { config }, ...extra }) as unknown as ModelMetadata;

  it("reads the training config, a retrained version's own recipe first, and applies overrides", () => {
    expect(recipeOf(metadata({}))).toEqual({ architecture: 'simple_cnn', epochs: 5, batch_size: 64, learning_rate: 0.001, seed: 42, limit: null, val_split: 0 });
    expect(recipeOf(metadata({ retrain: { recipe: { ...config, limit: 500 } } })).limit).toBe(500);
    expect(recipeOf(metadata({}), { epochs: 1, limit: 100, batch_size: undefined })).toMatchObject({ epochs: 1, limit: 100, batch_size: 64 });
  });

  it('a config without a usable recipe is a clear ModelError', () => {
    const broken = { version: 'v1', training: { config: { epochs: 'five' } } } as unknown as ModelMetadata;
    expect(() => recipeOf(broken)).toThrow(/training recipe of v1/);
  });
});

describe('judge', () => {
  const row = (scenario: string, stable: number, candidate: number) => ({ scenario, images: 100, stable, candidate, delta: candidate - stable });

  it('not worse: clean within the tolerance, every scenario at least stable', () => {
    const verdict = judge([row('clean', 0.72, 0.715), row('gaussian_noise:3', 0.4, 0.4)], 0.01);
    expect(verdict.not_worse).toBe(true);
    expect(verdict.rows.map((r) => r.required)).toEqual([0.72 - 0.01, 0.4]);
  });

  it('worse: clean below the tolerance or any scenario below stable, each named', () => {
    const verdict = judge([row('clean', 0.72, 0.7), row('blur', 0.5, 0.49), row('jpeg', 0.5, 0.6)], 0.01);
    expect(verdict.not_worse).toBe(false);
    expect(verdict.failures).toHaveLength(2);
    expect(verdict.failures[0]).toMatch(/^clean: candidate 70\.0% < required 71\.0%/);
    expect(verdict.failures[1]).toMatch(/^blur:/);
  });
});
