import { spawn } from 'node:child_process';
import path from 'node:path';
import { colourLevel, coloursFor } from '../src/commands/output';

const ESC = '\u001b';
const ANSI = new RegExp(`${ESC}\\[`);

/** The real CLI from the sources, stdout and stderr piped (not a terminal). */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv = { ...process.env, ...env };
  for (const name of ['FORCE_COLOR', 'NO_COLOR'] as const) if (!(name in env)) delete childEnv[name];
  const child = spawn(process.execPath, ['-r', './scripts/ts-register.js', 'test/helpers/mldeploy-from-sources.ts', ...args], {
    cwd: path.resolve(__dirname, '..'),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('colour in CLI output', () => {
  it('piped output has no ANSI codes: a usage error and a run-time error', async () => {
    const usage = await runCli(['train', '--epochs', 'abc'], {});
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--epochs must be an integer >= 1, got "abc"');
    expect(usage.stderr).not.toMatch(ANSI);

    const failure = await runCli(['serve', '--model', '/nonexistent/model', '--port', '0'], {});
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(/^error: /);
    expect(`${failure.stdout}${failure.stderr}`).not.toMatch(ANSI);
  });

  it('FORCE_COLOR colours the error line even when piped, and NO_COLOR wins over it', async () => {
    const forced = await runCli(['serve', '--model', '/nonexistent/model', '--port', '0'], { FORCE_COLOR: '1' });
    expect(forced.code).toBe(1);
    expect(forced.stderr.startsWith(`${ESC}[31merror:${ESC}[39m `)).toBe(true);

    const refused = await runCli(['serve', '--model', '/nonexistent/model', '--port', '0'], { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: /);
    expect(refused.stderr).not.toMatch(ANSI);
  });
});

describe('colourLevel and coloursFor', () => {
  it('NO_COLOR (set, not empty) turns colour off; empty NO_COLOR does not count', () => {
    expect(colourLevel('stderr', { NO_COLOR: '1' })).toBe(0);
    expect(colourLevel('stdout', { NO_COLOR: '1' })).toBe(0);
    expect(colourLevel('stderr', { NO_COLOR: '' })).toBe(colourLevel('stderr', {}));
  });

  it('level 0 leaves text unchanged; level 1 wraps each kind of line in its colour', () => {
    const plain = coloursFor(0);
    expect([plain.error('e'), plain.warning('w'), plain.pass('p'), plain.fail('f')]).toEqual(['e', 'w', 'p', 'f']);
    const basic = coloursFor(1);
    expect(basic.error('e')).toBe('\u001b[31me\u001b[39m');
    expect(basic.warning('w')).toBe('\u001b[33mw\u001b[39m');
    expect(basic.pass('p')).toBe('\u001b[32mp\u001b[39m');
    expect(basic.fail('f')).toBe('\u001b[1m\u001b[31mf\u001b[39m\u001b[22m');
  });
});
