/**
 * The CLI as a user meets it, run in-process through main(): help, usage errors (exit 2, one
 * line), runtime failures (exit 1, no stack unless --verbose), and two identical train runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCifar10Binary } from './helpers/cifar-fixtures';
import { runCli as run } from './helpers/cli-run';
import { expectedAutoEngine } from './helpers/test-engine';

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('mldeploy train --help', () => {
  it('lists every option with its default', async () => {
    const { code, stdout } = await run('train', '--help');
    expect(code).toBe(0);
    const flat = stdout.replace(/\s+/g, ' ');
    for (const [option, defaultValue] of [
      ['--data-dir <dir>', '"data"'],
      ['--epochs <n>', '5'],
      ['--batch-size <n>', '64'],
      ['--lr <rate>', '0.001'],
      ['--seed <n>', '42'],
      ['--val-split <fraction>', '0'],
      ['--models-dir <dir>', '"saved_models"'],
      ['--plots-dir <dir>', '"plots"'],
      ['--backend <engine>', '"auto"'],
    ]) {
      expect(flat).toMatch(new RegExp(`${option.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*?\\(default: ${defaultValue}\\)`));
    }
    for (const option of ['--data <path-or-url>', '--limit <n>', '--workers <n>']) expect(flat).toContain(option);
    expect(flat).toContain('MLDEPLOY_CIFAR10');
  });
});

describe('usage errors exit 2 with one line', () => {
  it.each([
    [['--epochs', 'abc'], '--epochs must be an integer >= 1, got "abc"'],
    [['--epochs', '0'], '--epochs must be an integer >= 1, got "0"'],
    [['--batch-size', '2.5'], '--batch-size must be an integer >= 1, got "2.5"'],
    [['--lr', '-1'], '--lr must be a number > 0, got "-1"'],
    [['--val-split', '1'], '--val-split must be a number >= 0 and < 1, got "1"'],
    [['--limit', 'many'], '--limit must be an integer >= 1, got "many"'],
    [['--backend', 'gpu'], 'unknown backend "gpu" (choose one of: auto, node, wasm, cpu)'],
  ])('train %j', async (args, message) => {
    const { code, stderr, stdout } = await run('train', ...args);
    expect(code).toBe(2);
    expect(stderr).toBe(`error: ${message}\n`);
    expect(stdout).toBe('');
  });
});

describe('runtime failures exit 1 with a clear line', () => {
  it('a missing data source: one line, no stack trace', async () => {
    const missing = path.join(work, 'no-such-data');
    const { code, stderr } = await run('train', '--data', missing, '--data-dir', path.join(work, 'data'), '--models-dir', path.join(work, 'm0'));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([`error: data source not found: ${missing}`]);
  });

  it('--verbose adds the stack trace', async () => {
    const { code, stderr } = await run('--verbose', 'train', '--data', path.join(work, 'nope'), '--data-dir', path.join(work, 'data'));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: data source not found: .*\n.*DataError: data source not found[\s\S]*\n\s+at /);
  });
});

describe('mldeploy train end to end', () => {
  it('two runs with the same seed give identical metrics, each as a new version', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 50, 40); // 250 train, 40 test
    const modelsDir = path.join(work, 'models');
    const args = ['train', '--limit', '200', '--epochs', '1', '--seed', '1', '--data', fixture.root, '--data-dir', path.join(work, 'data'),
      '--models-dir', modelsDir, '--plots-dir', path.join(work, 'plots')];
    const first = await run(...args);
    const second = await run(...args);
    for (const r of [first, second]) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }

    // Not a TTY here: plain lines, one per epoch, then the evaluation and where things went.
    expect(first.stdout).toMatch(new RegExp(`^engine: ${expectedAutoEngine()} \\[`));
    // Default --val-split 0: every limited image trains; the per-epoch figures are the test set's.
    expect(first.stdout).toContain('200 train, 40 test images (test figures reported per epoch');
    expect(first.stdout.match(/^epoch 1\/1: loss \d+\.\d{4}, accuracy .*, test_loss \d+\.\d{4}, test_accuracy .* img\/s/gm)).toHaveLength(1);
    expect(first.stdout).toMatch(/^test accuracy: \d+\.\d\d%$/m);
    expect(first.stdout).toMatch(/^per-class accuracy:\n {2}airplane /m);
    expect(first.stdout).toMatch(/^confusion matrix \(rows: true class, columns: predicted\):$/m);
    expect(first.stdout).toContain(`saved model v1_`);
    expect(second.stdout).toContain(`saved model v2_`);

    const metadataOf = (stdout: string) => {
      const dir = /saved model \S+ -> (.+)$/m.exec(stdout)![1];
      return JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    };
    const a = metadataOf(first.stdout);
    const b = metadataOf(second.stdout);
    const metrics = (m: typeof a) => ({
      history: m.training.history.map(({ seconds, img_per_s, ...rest }: Record<string, number>) => rest),
      test_accuracy: m.test_accuracy,
      confusion_matrix: m.confusion_matrix,
      confidences: m.reference.signals.confidence,
      digest: m.dataset.digest,
    });
    expect(metrics(b)).toEqual(metrics(a));
    expect(a.training.config.validation).toBe('test set (reporting only)');
    expect([a.dataset.train_count, a.dataset.val_count]).toEqual([200, 0]);
    // The last epoch's test figure is the final test accuracy (same model, same images).
    expect(a.training.history[0].val_accuracy).toBeCloseTo(a.test_accuracy, 10);
    // Same epoch-line text too (timings aside).
    const epochLine = (s: string) => /^epoch 1\/1: (.*), \d+ img\/s/m.exec(s)![1];
    expect(epochLine(second.stdout)).toBe(epochLine(first.stdout));
  });
});

describe('mldeploy ... | head', () => {
  it('stops quietly with exit 0 when the reader closes the pipe early', async () => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'test/helpers/mldeploy-from-sources.ts', 'train', '--help'], {
      cwd: path.resolve(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the CLI has written anything, so its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
