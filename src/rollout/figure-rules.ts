/**
 * Rules over a served version's live figures, the one grammar behind `models promote --require`
 * (a requirement: passes when its condition holds) and `serve --rollback-if` (a trigger: fires
 * when it holds). Operators and their meaning are drift's `--fail-on` ones (src/drift/rules.ts).
 * Pure: parsing and evaluation only.
 *
 * Grammar (whitespace between the parts is ignored):
 *   rule    := figure op operand | flag            (a bare flag means flag>0)
 *   operand := number | "stable" [("+"|"-") number] (relative: the stable version's same figure)
 */
import { conditionHolds, RULE_OPS, type RuleOp } from '../drift/rules';
import { UsageError } from '../errors';

export const RELATIVE_BASE = 'stable';

export interface FigureRule<F extends string = string> {
  /** Canonical text, e.g. `estimated_accuracy>=stable-0.01`; results and audit reasons quote it. */
  text: string;
  figure: F;
  op: RuleOp;
  /** The number compared with, or the offset added to the stable version's figure when `relative`. */
  threshold: number;
  relative: boolean;
}

export interface FigureRuleGrammar<F extends string> {
  /** The option the rules come from, for messages (e.g. --require). */
  option: string;
  /** Figure name -> one-line description (for messages and --help). */
  figures: Record<F, string>;
  /** Yes/no figures: the bare name is the rule `<name>>0`. */
  flags?: readonly F[];
  /** Figures that may be compared with the stable version's (`stable-0.01`); none when absent. */
  relative?: readonly F[];
}

const UNSIGNED = String.raw`(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const RULE_PATTERN = new RegExp(String.raw`^\s*([A-Za-z0-9_]+)\s*(>=|<=|>|<)\s*(?:(${RELATIVE_BASE})\s*(?:([+-])\s*(${UNSIGNED}))?|([+-]?${UNSIGNED}))\s*$`);

export function parseFigureRule<F extends string>(text: string, grammar: FigureRuleGrammar<F>): FigureRule<F> {
  const names = Object.keys(grammar.figures) as F[];
  const choices = `figures: ${names.join(', ')}; operators: ${RULE_OPS.join(' ')}`;
  const bare = text.trim();
  if ((grammar.flags ?? []).includes(bare as F)) return { text: bare, figure: bare as F, op: '>', threshold: 0, relative: false };
  const match = RULE_PATTERN.exec(text);
  if (!match) {
    throw new UsageError(
      `invalid ${grammar.option} rule "${text}": expected <figure><op><number>` +
        `${grammar.relative?.length ? ` or <figure><op>${RELATIVE_BASE}[+-<number>]` : ''}; ${choices}` +
        (/[<>]/.test(text) ? '' : `; quote rules in a shell (${grammar.option} '${names[0]}>=0.9'), or it reads > and < as redirections`),
    );
  }
  const [, name, op, base, sign, offset, number] = match;
  if (!names.includes(name as F)) throw new UsageError(`unknown figure "${name}" in ${grammar.option} rule "${text}"; ${choices}`);
  const figure = name as F;
  if (base === undefined) return { text: `${figure}${op}${number}`, figure, op: op as RuleOp, threshold: Number(number), relative: false };
  if (!(grammar.relative ?? []).includes(figure)) {
    const allowed = grammar.relative?.length ? `only ${grammar.relative.join(', ')} can be` : 'no figure can be';
    throw new UsageError(`${grammar.option} rule "${text}": ${allowed} compared with the ${RELATIVE_BASE} version's`);
  }
  const threshold = offset === undefined ? 0 : Number(`${sign}${offset}`);
  return { text: `${figure}${op}${RELATIVE_BASE}${offset === undefined ? '' : `${sign}${offset}`}`, figure, op: op as RuleOp, threshold, relative: true };
}

/** The number a value is compared with: the threshold, or the stable figure plus the offset (null when that is unknown). */
export function ruleBound(rule: FigureRule, stableValue: number | null): number | null {
  if (!rule.relative) return rule.threshold;
  return stableValue === null ? null : stableValue + rule.threshold;
}

/** Whether `value op bound` holds. */
export function ruleHolds(rule: FigureRule, value: number, bound: number): boolean {
  return conditionHolds({ op: rule.op, threshold: bound }, value);
}

/** A figure for messages: integers as they are, others to 4 significant digits. */
export function formatFigure(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}
