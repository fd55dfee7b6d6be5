/**
 * predictions.jsonl faults never crash the server: a directory in the way, the file deleted or
 * moved under it, EACCES and a full disk (injected into fs/promises, as root ignores modes).
 * Lost lines are counted, the outage is reported once, and writing resumes when it can.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { encodePng } from '../src/preprocess';
import { startServer } from '../src/serve';
import { RotatingFileSink, SinkHealth } from '../src/serve/prediction-file';
import { formatRecord, readPredictionLog } from '../src/serve/prediction-log';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

jest.setTimeout(30_000);

/** Faults injected into fs/promises (what rotating-file-stream opens and writes through) for one path. */
const mockFault: { path?: string; open?: string; write?: string } = {};
jest.mock('fs/promises', () => {
  const real = jest.requireActual('fs/promises');
  const failure = (code: string, call: string) => Object.assign(new Error(`${code}: injected, ${call} '${mockFault.path}'`), { code });
  return {
    ...real,
    open: async (target: string, ...rest: unknown[]) => {
      if (String(target) === mockFault.path && mockFault.open) throw failure(mockFault.open, 'open');
      const handle = await real.open(target, ...rest);
      if (String(target) !== mockFault.path) return handle;
      const write = handle.write.bind(handle);
      handle.write = async (...args: unknown[]) => {
        if (mockFault.write) throw failure(mockFault.write, 'write');
        return write(...args);
      };
      return handle;
    },
  };
});

const line = (latency: number) =>
  formatRecord({
    timestamp: '2025-01-01T00:00:00.000Z',
    model_version: 'v1_2025_01_01',
    predicted_class: 'cat',
    confidence: 0.5,
    latency_ms: latency,
    input_sha256: 'a'.repeat(64),
    route: 'predict',
  });

function recordingHealth() {
  const events = { dropped: 0, failing: [] as string[], recovered: [] as number[] };
  const health: SinkHealth = {
    dropped: (n) => (events.dropped += n),
    failing: (err) => events.failing.push(err.message),
    recovered: (n) => events.recovered.push(n),
  };
  return { events, health };
}

async function until(condition: () => boolean, what: string, tick: () => void = () => {}): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    tick();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const latencies = (file: string) => readPredictionLog(file).map((r) => r.latency_ms);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-log-faults-'));

describe('RotatingFileSink faults', () => {
  afterEach(() => {
    delete mockFault.open;
    delete mockFault.write;
  });

  it('a directory in the way: lines are dropped and counted, reported once, and writing resumes once it is gone', async () => {
    const logDir = tmp();
    const file = path.join(logDir, 'predictions.jsonl');
    fs.mkdirSync(file);
    const { events, health } = recordingHealth();
    const sink = new RotatingFileSink(logDir, undefined, health);
    for (let i = 0; i < 3; i++) sink.append(line(i));
    await until(() => events.dropped === 3, 'the 3 lines to be dropped');
    expect(events.failing).toHaveLength(1);
    expect(events.failing[0]).toMatch(/not a file/);
    fs.rmdirSync(file);
    await until(() => events.recovered.length === 1, 'recovery', () => sink.append(line(7)));
    await sink.close();
    expect(new Set(latencies(file))).toEqual(new Set([7]));
    expect(events.failing).toHaveLength(1);
    expect(events.recovered[0]).toBe(events.dropped);
  });

  it('the file deleted under the sink is recreated within a second', async () => {
    const logDir = tmp();
    const file = path.join(logDir, 'predictions.jsonl');
    const sink = new RotatingFileSink(logDir);
    sink.append(line(1));
    await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').length > 0, 'the first line');
    fs.rmSync(file);
    await until(() => fs.existsSync(file), 'the file to be recreated', () => sink.append(line(2)));
    await sink.close();
    expect(latencies(file).every((l) => l === 2)).toBe(true);
  });

  it('the file moved away before a rotation: no throw, and no line is lost', async () => {
    const logDir = tmp();
    const file = path.join(logDir, 'predictions.jsonl');
    const sink = new RotatingFileSink(logDir, { maxBytes: line(0).length * 2, keepFiles: 5 });
    sink.append(line(0));
    await until(() => fs.existsSync(file), 'the file');
    fs.renameSync(file, path.join(logDir, 'moved.jsonl'));
    for (let i = 1; i < 6; i++) expect(() => sink.append(line(i))).not.toThrow();
    sink.append(line(9));
    await sink.close();
    const written = fs.readdirSync(logDir).flatMap((name) => latencies(path.join(logDir, name)));
    expect(written.sort()).toEqual([0, 1, 2, 3, 4, 5, 9]);
  });

  it.each([
    ['EACCES on open', 'open'],
    ['ENOSPC (disk full) on write', 'write'],
  ] as const)('%s: dropped lines counted, one report, recovery when the fault clears', async (_name, where) => {
    const logDir = tmp();
    const file = path.join(logDir, 'predictions.jsonl');
    Object.assign(mockFault, { path: file, [where]: where === 'open' ? 'EACCES' : 'ENOSPC' });
    const { events, health } = recordingHealth();
    const sink = new RotatingFileSink(logDir, undefined, health);
    for (let i = 0; i < 4; i++) sink.append(line(i) + line(i)); // two lines per append, as a buffered flush sends
    await until(() => events.dropped === 8, 'the 8 lines to be dropped');
    expect(events.failing).toEqual([expect.stringMatching(where === 'open' ? /EACCES/ : /ENOSPC/)]);
    delete mockFault[where];
    await until(() => events.recovered.length === 1, 'recovery', () => sink.append(line(5)));
    await sink.close();
    expect(latencies(file)).toContain(5);
    expect(events.failing).toHaveLength(1);
  });
});

describe('a server whose prediction log cannot be written', () => {
  it('starts, answers predictions, counts the lost lines in /metrics and logs the fault once', async () => {
    const workDir = tmp();
    const logDir = path.join(workDir, 'logs');
    fs.mkdirSync(path.join(logDir, 'predictions.jsonl'), { recursive: true });
    const modelDir = await createModelFixture(path.join(workDir, 'models'), { seed: 12 });
    const server = await startServer({ modelPath: modelDir, port: 0, logDir });
    try {
      const image = (await encodePng(syntheticImages(1, 2))).toString('base64');
      for (let i = 0; i < 3; i++) await request(server.app).post('/predict').send({ image_base64: image }).expect(200);
      await request(server.app).post('/predict/batch').send({ images: [image, image] }).expect(200);
      let metrics = '';
      await until(() => /mldeploy_prediction_log_dropped_total 5\b/.test(metrics), 'the dropped counter', () => {
        void request(server.app).get('/metrics').then((r) => (metrics = r.text));
      });
    } finally {
      await server.close();
    }
    const faults = fs.readFileSync(path.join(logDir, 'server.log'), 'utf8').split('\n').filter((l) => l.includes('prediction_log_fault'));
    expect(faults).toHaveLength(1);
    expect(faults[0]).toContain('mldeploy_prediction_log_dropped_total');
  });
});
