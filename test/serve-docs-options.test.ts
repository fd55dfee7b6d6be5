/** docs/serve.md's Options table and `mldeploy serve --help` name the same flags, with the same defaults where --help gives one. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildProgram } from '../src/cli';
import { helpFlags } from './helpers/cli-help';

const doc = readFileSync(path.join(__dirname, '..', 'docs', 'serve.md'), 'utf8');
const options = doc.slice(doc.indexOf('## Options'), doc.indexOf('\n## ', doc.indexOf('## Options') + 1));
/** Flag -> the table's default column. */
const rows = new Map([...options.matchAll(/^\| `(--[a-z0-9-]+)[^`]*` \|[^|]*\| ([^|]*) \|/gm)].map((m) => [m[1], m[2].trim()]));

describe('docs/serve.md options', () => {
  it('has a row for every serve --help flag and no other', () => {
    const help = [...helpFlags('serve')].filter((flag) => flag !== '--help');
    expect([...rows.keys()].sort()).toEqual(help.sort());
  });

  it('gives the defaults --help gives', () => {
    const serve = buildProgram().commands.find((c) => c.name() === 'serve')!;
    const defaultOf = (flag: string) => serve.options.find((o) => o.long === flag)?.defaultValue;
    expect(rows.get('--shadow-share')).toBe(`\`${defaultOf('--shadow-share')}\``);
    expect(rows.get('--monitor-window')).toBe(`\`${defaultOf('--monitor-window')}\``);
  });
});
