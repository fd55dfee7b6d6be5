/**
 * Colour for what the CLI prints: errors, warnings and gate verdicts. chalk 4 (supports-color)
 * turns colour off when the stream is not a terminal (pipes, CI logs, files) and follows
 * FORCE_COLOR; NO_COLOR (https://no-color.org: set and not empty) turns it off everywhere.
 */
import chalk from 'chalk';

export interface Colours {
  error(text: string): string;
  warning(text: string): string;
  /** A check that held (e.g. the drift gate passed). */
  pass(text: string): string;
  /** A check that failed (e.g. a gate rule). */
  fail(text: string): string;
}

/** How much colour a stream gets: supports-color's answer for it, or none under NO_COLOR. */
export function colourLevel(stream: 'stdout' | 'stderr', env: NodeJS.ProcessEnv = process.env): chalk.Level {
  if (env.NO_COLOR) return 0;
  return stream === 'stderr' ? chalk.stderr.level : chalk.level;
}

export function coloursFor(level: chalk.Level): Colours {
  const paint = new chalk.Instance({ level });
  return {
    error: (text) => paint.red(text),
    warning: (text) => paint.yellow(text),
    pass: (text) => paint.green(text),
    fail: (text) => paint.bold.red(text),
  };
}

/** For lines written to stderr (errors, warnings, gate verdicts). */
export const stderrColours: Colours = coloursFor(colourLevel('stderr'));
