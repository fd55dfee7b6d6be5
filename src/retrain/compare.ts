/**
 * Step 4 of `mldeploy retrain`: candidate and stable side by side, in-process, on the same test
 * images clean and under each drifted scenario (the scenario code drift replays), and the verdict:
 * not worse when clean accuracy >= stable - tolerance and every scenario's accuracy >= stable's.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types';
import { applyScenario } from '../drift/scenarios';
import { UsageError } from '../errors';
import { evaluatePredictions, predictSet } from '../model/evaluate';

export const CLEAN_ROW = 'clean';
export const DEFAULT_TOLERANCE = 0.01;

export interface ComparisonRow {
  scenario: string;
  images: number;
  stable: number;
  candidate: number;
  /** candidate - stable. */
  delta: number;
  /** The lowest candidate accuracy that passes. */
  required: number;
  passed: boolean;
}

export interface Comparison {
  /** Clean accuracy the candidate may lose against stable (fraction). */
  tolerance: number;
  rows: ComparisonRow[];
  not_worse: boolean;
  /** One line per failed row. */
  failures: string[];
}

export interface CompareInput {
  stable: tf.LayersModel;
  candidate: tf.LayersModel;
  test: ImageSet;
  classNames: string[];
  scenarios: string[];
  tolerance: number;
  seed: number;
}

export function requireTolerance(tolerance: number): number {
  if (!(tolerance >= -1 && tolerance <= 1)) throw new UsageError(`--tolerance must be a fraction from -1 to 1 (0.01 = one point), got ${tolerance}`);
  return tolerance;
}

export async function compareModels(input: CompareInput): Promise<Comparison> {
  const accuracy = async (model: tf.LayersModel, images: ImageSet) =>
    evaluatePredictions(images.labels, (await predictSet(model, images)).classes, input.classNames).accuracy;
  const measured: Omit<ComparisonRow, 'required' | 'passed'>[] = [];
  for (const scenario of [CLEAN_ROW, ...input.scenarios.filter((s) => s !== CLEAN_ROW)]) {
    const images = scenario === CLEAN_ROW ? input.test : await applyScenario(scenario, input.test, input.seed);
    const stable = await accuracy(input.stable, images);
    const candidate = await accuracy(input.candidate, images);
    measured.push({ scenario, images: images.count, stable, candidate, delta: candidate - stable });
  }
  return judge(measured, input.tolerance);
}

/** The verdict over measured rows (clean gets the tolerance, drifted scenarios none). */
export function judge(measured: Omit<ComparisonRow, 'required' | 'passed'>[], tolerance: number): Comparison {
  const rows = measured.map((row) => {
    const required = row.scenario === CLEAN_ROW ? row.stable - tolerance : row.stable;
    // A hair of float noise (accuracies are counts / n) must not fail an equal result.
    return { ...row, required, passed: row.candidate >= required - 1e-12 };
  });
  const failures = rows
    .filter((r) => !r.passed)
    .map((r) => `${r.scenario}: candidate ${percent(r.candidate)} < required ${percent(r.required)} (stable ${percent(r.stable)}${r.scenario === CLEAN_ROW ? ` - tolerance ${percent(tolerance)}` : ''})`);
  return { tolerance, rows, not_worse: failures.length === 0, failures };
}

export function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
