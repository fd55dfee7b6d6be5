/** Text renderings of the retrain result: the decision and plan (printed before training) and the comparison table. */
import { percent, type Comparison } from './compare';
import type { RetrainResult } from './run';

export function renderDecision(result: RetrainResult): string {
  const { decision } = result;
  const source = decision.source.kind === 'log' ? `drift log ${decision.source.path} (sha256 ${decision.source.sha256.slice(0, 12)})` : `live monitoring of ${decision.source.url}`;
  const lines = [`drift: ${source}, model ${decision.model_version ?? '-'}; rules: ${decision.rules.length > 0 ? decision.rules.join(' ') : "the source's own verdicts"}`];
  for (const d of decision.drifted) lines.push(`  ${d.name}: ${d.reasons.join('; ')}`);
  return lines.join('\n');
}

export function renderPlan(result: RetrainResult): string {
  const { plan, recipe, stable } = result;
  if (!plan || !recipe || !stable) return '';
  const lines = [
    `stable: ${stable.version} (test accuracy ${percent(stable.test_accuracy)})${stable.pinned_stable_label ? ' (no stable label yet: labelled stable before training)' : ''}`,
    ...(result.decision.model_version !== null && result.decision.model_version !== stable.version
      ? [`note: the drift was measured on ${result.decision.model_version}, not on stable ${stable.version}; the candidate is compared with stable`]
      : []),
    `recipe: ${recipe.architecture}, ${recipe.epochs} epoch(s), batch ${recipe.batch_size}, lr ${recipe.learning_rate}, seed ${recipe.seed}, ` +
      `limit ${recipe.limit ?? 'all'}, val_split ${recipe.val_split}`,
    `plan: ${plan.augmentations.length === 0 ? 'nothing augmentation can address' : `extra augmented copies of ${percent(plan.share)} of the training images`}`,
  ];
  for (const a of plan.augmentations) lines.push(`  augment for ${a.for_scenario}: ${a.transforms.join(', ')} (compared on ${a.evaluate_on})`);
  for (const u of plan.unaddressable) lines.push(`  not addressable: ${u.scenario}: ${u.reason}`);
  return lines.join('\n');
}

const COLUMNS = ['scenario', 'images', 'stable', 'candidate', 'delta', 'required', 'result'];

export function renderComparison(comparison: Comparison, stableVersion: string, candidateVersion: string): string {
  const rows = comparison.rows.map((r) => [
    r.scenario,
    String(r.images),
    percent(r.stable),
    percent(r.candidate),
    `${r.delta >= 0 ? '+' : ''}${(r.delta * 100).toFixed(1)}`,
    `>= ${percent(r.required)}`,
    r.passed ? 'ok' : 'WORSE',
  ]);
  const widths = COLUMNS.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [
    `comparison on the test set (stable ${stableVersion} vs candidate ${candidateVersion}; clean tolerance ${percent(comparison.tolerance)}):`,
    line(COLUMNS),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** The last line(s): what happened to the candidate. */
export function renderOutcome(result: RetrainResult): string {
  switch (result.outcome) {
    case 'no-retrain':
      return `no retraining needed: nothing drifted by ${result.decision.rules.length > 0 ? 'the --if rules' : "the source's own verdicts"}`;
    case 'unaddressable':
      return 'not retrained: no drifted scenario can be addressed by augmentation (see "not addressable" above)';
    case 'dry-run':
      return 'dry run: nothing trained';
    case 'canary':
      return `registered ${result.candidate!.version} and labelled it ${result.label!.label} (not worse than ${result.stable!.version})`;
    case 'worse':
      return [`registered ${result.candidate!.version}, left unlabelled: worse than ${result.stable!.version}`, ...result.comparison!.failures.map((f) => `  ${f}`)].join('\n');
  }
}
