/**
 * `serve --rollback-if <rule> --rollback-after <n>`: once the stable version has n predictions in
 * its monitor window and the rule holds on its live figures, `stable` goes back to the version it
 * had before (the registry's rollbackStable, audited), and the server then follows the new label.
 * The rule is decided once per n new predictions, each time on a window of fresh ones: checking
 * an overlapping window every second would repeat the detector's test on mostly the same data
 * and turn its per-test false-alarm rate (alpha) into a near-certain false alarm over time.
 * At most once per version: a version rolled back from (or whose rollback failed) is never acted
 * on again by this server, so a bad pair cannot flip back and forth. A figure the server cannot
 * give (too few samples, no estimate) triggers nothing: rolling back is itself a change.
 */
import { parseFigureRule, formatFigure, ruleHolds, type FigureRule, type FigureRuleGrammar } from './figure-rules';
import type { RollbackSection } from './monitoring-contract';

export const ROLLBACK_FIGURES = {
  estimated_accuracy: "label-free accuracy estimate of the stable version's window, 0..1",
  drift_detected: '1 when the shift detector flags the window, else 0 (bare drift_detected = drift_detected>0)',
  p_value: "the detector's smallest corrected p-value for the window (small = drift)",
  error_rate: "share of the stable version's requests that failed, 0..1",
  latency_p95_ms: "95th percentile latency of the stable version's requests, ms",
} as const;
export type RollbackFigure = keyof typeof ROLLBACK_FIGURES;

export const ROLLBACK_GRAMMAR: FigureRuleGrammar<RollbackFigure> = { option: '--rollback-if', figures: ROLLBACK_FIGURES, flags: ['drift_detected'] };

export type RollbackRule = FigureRule<RollbackFigure>;

export const parseRollbackRule = (text: string): RollbackRule => parseFigureRule(text, ROLLBACK_GRAMMAR);

/** The stable version's figures as the server has them now; null for a figure it cannot give. */
export interface StableFigures {
  version: string;
  /** Predictions in its monitor window. */
  samples: number;
  /** Predictions its window has seen in all (the window keeps the last ones). */
  total: number;
  figures: Record<RollbackFigure, number | null>;
}

export interface RollbackDecision {
  trigger: boolean;
  /** The rule's figure, when known. */
  value: number | null;
  /** For the audit log and the server log, e.g. `estimated_accuracy<0.6 held: estimated_accuracy 0.41 over 500 predictions of v2`. */
  reason: string;
}

/** Whether the rule calls for a rollback of this version now. Pure. */
export function decideRollback(rule: RollbackRule, after: number, stable: StableFigures): RollbackDecision {
  const value = stable.figures[rule.figure];
  const over = `${stable.samples} predictions of ${stable.version}`;
  if (stable.samples < after) return { trigger: false, value, reason: `waiting: ${over}, the rule is checked from ${after}` };
  if (value === null) return { trigger: false, value, reason: `no ${rule.figure} for ${stable.version} yet (${over})` };
  const trigger = ruleHolds(rule, value, rule.threshold);
  return { trigger, value, reason: `${rule.text} ${trigger ? 'held' : 'does not hold'}: ${rule.figure} ${formatFigure(value)} over ${over}` };
}

export interface RollbackWatchOptions {
  rule: RollbackRule;
  after: number;
  /** The stable version's figures now; null when the server has none for it yet. */
  figures: () => Promise<StableFigures | null>;
  /** Moves stable back (rollbackStable) and returns the versions it moved between. */
  rollback: (reason: string) => Promise<{ from: string | null; to: string | null }>;
  /** Called after a rollback so the server serves the new stable (its refresh). */
  refresh: () => Promise<unknown>;
  /** Every rollback and failed rollback, for the server log and the metrics. */
  onEvent: (event: RollbackEvent) => void;
  now?: () => Date;
}

export type RollbackEvent =
  | { kind: 'rolled_back'; from: string | null; to: string | null; reason: string }
  | { kind: 'failed'; version: string; reason: string; error: string }
  | { kind: 'refresh_failed'; error: string };

export class RollbackWatcher {
  private readonly handled = new Set<string>();
  /** Per version, the window's total at the last decision: the next one waits for `after` more. */
  private readonly decidedAt = new Map<string, number>();
  private last: Omit<RollbackSection, 'rule' | 'after'> = {};
  private checking: Promise<void> | null = null;

  constructor(private readonly options: RollbackWatchOptions) {}

  /** Checks the rule once (a check already running is joined, not repeated). */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** The `rollback` section of GET /monitoring: the rule, and the last rollback if there was one. */
  section(): RollbackSection {
    return { rule: this.options.rule.text, after: this.options.after, ...this.last };
  }

  private async checkOnce(): Promise<void> {
    const stable = await this.options.figures();
    if (!stable || this.handled.has(stable.version)) return;
    const last = this.decidedAt.get(stable.version);
    if (last !== undefined && stable.total - last < this.options.after) return;
    const decision = decideRollback(this.options.rule, this.options.after, stable);
    if (decision.value !== null && stable.samples >= this.options.after) this.decidedAt.set(stable.version, stable.total);
    if (!decision.trigger) return;
    this.handled.add(stable.version);
    const at = (this.options.now?.() ?? new Date()).toISOString();
    let moved: { from: string | null; to: string | null };
    try {
      moved = await this.options.rollback(decision.reason);
    } catch (err) {
      const error = (err as Error).message;
      this.last = { triggered_at: at, from: stable.version, reason: `${decision.reason}; the rollback failed: ${error}` };
      this.options.onEvent({ kind: 'failed', version: stable.version, reason: decision.reason, error });
      return;
    }
    // Reported once the server serves the new stable, so /monitoring never says "rolled back" while the old one answers.
    await this.options.refresh().catch((err: Error) => this.options.onEvent({ kind: 'refresh_failed', error: err.message }));
    const { from, to } = moved;
    this.last = { triggered_at: at, ...(from ? { from } : {}), ...(to ? { to } : {}), reason: decision.reason };
    this.options.onEvent({ kind: 'rolled_back', from, to, reason: decision.reason });
  }

  /** Checks every `everyMs` until the returned stop function is called (the timer never keeps the process alive). */
  start(everyMs: number): () => void {
    const timer = setInterval(() => void this.check().catch(() => {}), everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
