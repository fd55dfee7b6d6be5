/**
 * `models promote --require` rules checked against a server's live figures: every rule must
 * hold for the version to be promoted. A figure the server cannot give (not served, not the
 * shadow, too few samples, no accuracy estimate) fails the rule, with the reason. Pure.
 */
import { formatFigure, parseFigureRule, ruleBound, ruleHolds, type FigureRule, type FigureRuleGrammar } from './figure-rules';
import type { LiveFigures, VersionFigures } from './monitoring-contract';

export const PROMOTION_FIGURES = {
  agreement: "share of shadowed images whose top class was the primary's, 0..1 (the version must be the shadow)",
  mean_confidence_diff: "mean |confidence - primary's confidence| over the shadowed images (the shadow)",
  shadow_latency_p95_ms: "95th percentile of the shadow's prediction latency, ms (the shadow)",
  estimated_accuracy: "label-free accuracy estimate of the version's live window, 0..1",
  error_rate: "share of the version's requests that failed, 0..1",
  latency_p95_ms: "95th percentile latency of the version's requests, ms",
  requests: 'requests the version answered',
  samples: "predictions in the version's monitor window",
} as const;
export type PromotionFigure = keyof typeof PROMOTION_FIGURES;

export const PROMOTION_GRAMMAR: FigureRuleGrammar<PromotionFigure> = {
  option: '--require',
  figures: PROMOTION_FIGURES,
  relative: ['estimated_accuracy', 'error_rate', 'latency_p95_ms'],
};

/** Below this many samples behind a figure, the figure is not trusted (default of --min-samples). */
export const DEFAULT_MIN_SAMPLES = 100;

export type PromotionRule = FigureRule<PromotionFigure>;

export const parsePromotionRule = (text: string): PromotionRule => parseFigureRule(text, PROMOTION_GRAMMAR);

export interface RuleCheck {
  rule: string;
  passed: boolean;
  /** The version's figure; null when the server could not give it. */
  value: number | null;
  /** What it was compared with (for a relative rule: the stable figure plus the offset). */
  bound: number | null;
  /** The stable version's figure, for relative rules. */
  stable_value?: number | null;
  /** Why it passed or failed, in words. */
  detail: string;
}

export interface PromotionCheck {
  version: string;
  stable_version: string | null;
  passed: boolean;
  checks: RuleCheck[];
}

/** A figure with the count behind it, or why there is none. */
type Figure = { value: number; samples: number | null } | { value: null; why: string };

export function checkPromotion(version: string, rules: PromotionRule[], live: LiveFigures, minSamples = DEFAULT_MIN_SAMPLES): PromotionCheck {
  const target = live.versions.find((v) => v.version === version) ?? null;
  const stable = live.versions.find((v) => v.role === 'stable') ?? null;
  const served = live.versions.map((v) => v.version).join(', ') || '(none)';
  const checks = rules.map((rule): RuleCheck => {
    const own = target ? figureOf(rule.figure, target, live) : { value: null, why: `the server does not serve ${version} (it serves ${served})` };
    if (!rule.relative) return judge(rule, trusted(own, minSamples), rule.threshold);
    const base = stable ? trusted(figureOf(rule.figure, stable, live), minSamples) : { value: null, why: 'the server has no stable version' };
    const check = judge(rule, trusted(own, minSamples), ruleBound(rule, base.value), base.value === null ? `stable (${stable?.version ?? 'none'}): ${base.why}` : null);
    return { ...check, stable_value: base.value };
  });
  return { version, stable_version: stable?.version ?? null, passed: checks.every((c) => c.passed), checks };
}

function figureOf(figure: PromotionFigure, v: VersionFigures, live: LiveFigures): Figure {
  if (figure === 'requests') return { value: v.requests, samples: null };
  if (figure === 'samples') return { value: v.window.samples, samples: null };
  if (figure === 'estimated_accuracy') {
    if (v.estimated_accuracy) return { value: v.estimated_accuracy.value, samples: v.window.samples };
    return { value: null, why: `no accuracy estimate for ${v.version} (${v.window.samples} predictions in its window: too few to test, or the model has no calibration)` };
  }
  if (figure === 'error_rate' || figure === 'latency_p95_ms') {
    const value = v[figure];
    return value === null ? { value: null, why: `${v.version} has answered no request yet` } : { value, samples: v.requests };
  }
  const shadow = live.shadow ?? null;
  if (!shadow) return { value: null, why: 'the server runs no shadow version (serve --shadow <version>)' };
  if (shadow.version !== v.version) return { value: null, why: `${v.version} is not the shadow version (the shadow is ${shadow.version})` };
  const value = { agreement: shadow.agreement, mean_confidence_diff: shadow.mean_confidence_diff, shadow_latency_p95_ms: shadow.latency_p95_ms }[figure];
  return value === null ? { value: null, why: 'the shadow has compared no prediction yet' } : { value, samples: shadow.compared };
}

/** A figure from fewer than `minSamples` samples is no figure. */
function trusted(figure: Figure, minSamples: number): { value: number | null; why: string } {
  if (figure.value === null) return figure;
  if (figure.samples !== null && figure.samples < minSamples) return { value: null, why: `only ${figure.samples} samples behind it, fewer than --min-samples ${minSamples}` };
  return { value: figure.value, why: '' };
}

function judge(rule: PromotionRule, own: { value: number | null; why: string }, bound: number | null, boundWhy: string | null = null): RuleCheck {
  if (own.value === null) return { rule: rule.text, passed: false, value: null, bound, detail: `no value: ${own.why}` };
  if (bound === null) return { rule: rule.text, passed: false, value: own.value, bound: null, detail: `no stable figure to compare with: ${boundWhy}` };
  const passed = ruleHolds(rule, own.value, bound);
  const comparison = `${formatFigure(own.value)} ${passed ? '' : 'is not '}${rule.op} ${formatFigure(bound)}`;
  return { rule: rule.text, passed, value: own.value, bound, detail: comparison };
}

/** One line per rule: `ok` or `FAILED`, the rule, and why. */
export function describeCheck(check: RuleCheck): string {
  return `${check.passed ? 'ok    ' : 'FAILED'} ${check.rule}: ${check.detail}`;
}

/** The audit log's reason for a guarded promotion: every rule with its figure. */
export function promotionReason(check: PromotionCheck, given: string | null): string {
  const rules = check.checks.map((c) => `${c.rule} (${c.detail})`).join('; ');
  return `${given ? `${given}; ` : ''}guarded promotion: ${rules}`;
}
