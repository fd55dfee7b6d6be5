// `mldeploy ...` command lines found in files (deploy configs, docs), checked against what the real
// CLI's `--help` lists: commander builds the program exactly as `bin/mldeploy` does.
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli';

export interface CommandLine {
  source: string;
  /** `serve`, or `models promote` for a nested command. */
  subcommand: string;
  flags: string[];
}

function findCommand(subcommand: string): Command {
  let command: Command = buildProgram();
  for (const name of subcommand.split(' ')) {
    const next = command.commands.find((c) => c.name() === name);
    if (!next) throw new Error(`mldeploy has no "${subcommand}" command`);
    command = next;
  }
  return command;
}

/** The text `mldeploy <subcommand> --help` prints. */
export function helpText(subcommand: string): string {
  return findCommand(subcommand).helpInformation();
}

export const helpFlags = (subcommand: string): Set<string> => new Set(helpText(subcommand).match(/--[a-z][a-z0-9-]*/g) ?? []);

/** Flags of an argument list that starts with the subcommand (`serve --model x ...`, `models list --json`). */
export function commandLine(source: string, args: string[]): CommandLine {
  const [name, ...rest] = args;
  const nested = buildProgram().commands.find((c) => c.name() === name)?.commands.some((c) => c.name() === rest[0]);
  const subcommand = nested ? `${name} ${rest[0]}` : name;
  const options = nested ? rest.slice(1) : rest;
  return { source, subcommand, flags: options.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]) };
}

/** `... mldeploy <subcommand> <args>` inside shell text: continuations joined, quotes dropped. */
export function shellCommandLines(source: string, shell: string): CommandLine[] {
  const lines = shell.replace(/\\\n/g, ' ').split('\n');
  return lines.flatMap((line) => {
    const words = line.split(/\s+/).map((w) => w.replace(/^['"]|['"]$/g, ''));
    const at = words.findIndex((w) => /(^|\/)mldeploy$/.test(w));
    if (at < 0 || !words[at + 1] || words[at + 1].startsWith('-')) return [];
    const end = words.findIndex((w, i) => i > at && /^(>|2>|&|\||&&|;)/.test(w));
    return [commandLine(source, words.slice(at + 1, end < 0 ? undefined : end))];
  });
}
