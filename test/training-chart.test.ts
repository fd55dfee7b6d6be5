import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../src/cli';
import type { EpochRecord } from '../src/model/trainer';
import { writeTrainingChart } from '../src/report/training-chart';
import { writeCifar10Binary } from './helpers/cifar-fixtures';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-chart-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function pngSize(file: string): { width: number; height: number } {
  const png = readFileSync(file);
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const epoch = (n: number, validation: boolean): EpochRecord => ({
  epoch: n,
  loss: 2 / n,
  accuracy: 0.3 * n,
  val_loss: validation ? 2.2 / n : null,
  val_accuracy: validation ? 0.28 * n : null,
  seconds: 1,
  img_per_s: 100,
});

describe('writeTrainingChart', () => {
  it('draws loss and accuracy side by side (two 640-px panels), with or without a validation series', async () => {
    for (const validation of [true, false]) {
      const file = path.join(work, `chart-${validation}.png`);
      await writeTrainingChart(file, [epoch(1, validation), epoch(2, validation)], 'SimpleCNN v1', 'validation');
      expect(pngSize(file).width).toBe(1280);
    }
  });
});

describe('mldeploy train draws the chart', () => {
  it('writes <plots-dir>/training_progress.png and says where', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 20, 20);
    const plotsDir = path.join(work, 'plots');
    let stdout = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
    try {
      process.exitCode = 0;
      await main(['node', 'mldeploy', 'train', '--limit', '64', '--epochs', '1', '--data', fixture.root, '--data-dir', path.join(work, 'data'),
        '--models-dir', path.join(work, 'models'), '--plots-dir', plotsDir]);
    } finally {
      out.mockRestore();
    }
    expect(process.exitCode).toBe(0);
    const chart = path.join(plotsDir, 'training_progress.png');
    expect(stdout).toContain(`training chart -> ${chart}\n`);
    expect(pngSize(chart).width).toBe(1280);
  });
});
