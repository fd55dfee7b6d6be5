/**
 * docs/lifecycle.md walks through the whole loop with real commands: every `mldeploy ...` command
 * line in its code blocks (and in the README's) names a real subcommand and uses only options that
 * its `--help` lists, and the walkthrough keeps covering every step of the loop.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import MarkdownIt from 'markdown-it';
import { CommandLine, helpFlags, shellCommandLines } from './helpers/cli-help';

const root = path.resolve(__dirname, '..');
const page = path.join(root, 'docs', 'lifecycle.md');
/** Fences read as shell; others (`text`: quoted output) are not command lines. */
const SHELL_FENCES = new Set(['', 'console', 'bash', 'sh', 'shell']);

/** The command lines of a page's code blocks: in `console` blocks only the `$ ` prompt lines (the rest is output). */
function pageCommandLines(markdown: string, source = 'docs/lifecycle.md'): CommandLine[] {
  const fences = new MarkdownIt().parse(markdown, {}).filter((token) => token.type === 'fence' && SHELL_FENCES.has(token.info.trim()));
  return fences.flatMap((fence) => {
    const text = fence.content.replace(/\\\n/g, ' ');
    const shell = fence.info.trim() === 'console' ? text.split('\n').filter((line) => line.startsWith('$ ')).map((line) => line.slice(2)).join('\n') : text;
    return shellCommandLines(`${source} ${fence.map ? `line ${fence.map[0] + 1}` : ''}`, shell);
  });
}

/** `<subcommand>: <flag>` for every option --help does not list, or the subcommand when there is none. */
function unknownOptions(lines: CommandLine[]): string[] {
  return lines.flatMap((line) => {
    let known: Set<string>;
    try {
      known = helpFlags(line.subcommand);
    } catch {
      return [`${line.subcommand}: no such command`];
    }
    return line.flags.filter((flag) => !known.has(flag)).map((flag) => `${line.subcommand}: ${flag}`);
  });
}

describe('docs/lifecycle.md', () => {
  const lines = pageCommandLines(readFileSync(page, 'utf8'));

  it('walks through every step of the loop', () => {
    const steps = new Set(lines.map((line) => line.subcommand));
    for (const step of ['train', 'serve', 'models promote', 'models label', 'models unlabel', 'models list', 'drift', 'retrain']) expect(steps).toContain(step);
    const serveOptions = new Set(lines.filter((line) => line.subcommand === 'serve').flatMap((line) => line.flags));
    for (const option of ['--canary-percent', '--shadow', '--rollback-if', '--rollback-after']) expect(serveOptions).toContain(option);
    const promoteOptions = new Set(lines.filter((line) => line.subcommand === 'models promote').flatMap((line) => line.flags));
    for (const option of ['--url', '--require']) expect(promoteOptions).toContain(option);
  });

  it('uses only subcommands and options that the real --help lists', () => {
    expect(unknownOptions(lines)).toEqual([]);
  });
});

describe('README.md', () => {
  it('uses only subcommands and options that the real --help lists', () => {
    const lines = pageCommandLines(readFileSync(path.join(root, 'README.md'), 'utf8'), 'README.md');
    expect(lines.map((line) => line.subcommand)).toEqual(expect.arrayContaining(['train', 'serve', 'drift', 'models promote', 'retrain']));
    expect(unknownOptions(lines)).toEqual([]);
  });
});

describe('the command-line check itself', () => {
  const check = (markdown: string): string[] => unknownOptions(pageCommandLines(markdown));

  it('reads prompt lines of console blocks, with continuations, and every line of shell blocks', () => {
    const markdown = [
      '```console',
      '$ mldeploy models promote v2 --url http://127.0.0.1:8000 \\',
      "    --require 'agreement>=0.8' --no-such-promote-flag",
      'mldeploy serve: listening on http://127.0.0.1:8000 --not-a-command-line',
      '```',
      '',
      '```bash',
      'mldeploy serve --model saved_models --canary-pct 10 &',
      '```',
      '',
      '```text',
      'mldeploy serve: --rollback-if: stable rolled back',
      '```',
    ].join('\n');
    expect(check(markdown)).toEqual(['models promote: --no-such-promote-flag', 'serve: --canary-pct']);
  });

  it('names a subcommand the CLI does not have', () => {
    expect(check('```console\n$ mldeploy promote v2 --url x\n```\n')).toEqual(['promote: no such command']);
  });

  it('passes lines that use listed options only', () => {
    expect(check("```console\n$ mldeploy serve --model saved_models --rollback-if 'estimated_accuracy<0.45' --rollback-after 200 &\n```\n")).toEqual([]);
  });
});
