import * as tf from '@tensorflow/tfjs';
import { describeEngine, initEngine, parseBackendChoice } from '../src/model/engine';
import { MldeployError, UsageError } from '../src/errors';
import { expectedAutoEngine } from './helpers/test-engine';

describe('engine selection', () => {
  it('auto picks tfjs-node when it loads, else wasm, and says why it skipped node', async () => {
    const info = await initEngine('auto');
    if (expectedAutoEngine() === 'node') {
      expect(info).toMatchObject({ backend: 'node', tfjs_backend: 'tensorflow', fallback_reasons: [] });
      expect(info.versions['tfjs-node']).toMatch(/^\d+\.\d+\.\d+/);
    } else {
      expect(info.backend).toBe('wasm');
      expect(info.fallback_reasons.join()).toMatch(/^node: /);
    }
    expect(tf.getBackend()).toBe(info.tfjs_backend);
    expect(info.versions['tfjs-core']).toBe(tf.version_core);
    expect(describeEngine(info)).toContain(`engine: ${info.backend}`);
  });

  it('--backend cpu forces the pure-JS backend', async () => {
    const info = await initEngine('cpu');
    expect(info).toMatchObject({ backend: 'cpu', tfjs_backend: 'cpu', fallback_reasons: [] });
    expect(info.versions['tfjs-backend-cpu']).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('forcing an engine that cannot load is a clear runtime error', async () => {
    if (expectedAutoEngine() === 'node') return;
    await expect(initEngine('node')).rejects.toThrow(MldeployError);
    await expect(initEngine('node')).rejects.toThrow(/the node engine is not available here .*try --backend auto/);
  });

  it('rejects unknown backend names as a usage error', () => {
    expect(parseBackendChoice('wasm')).toBe('wasm');
    expect(() => parseBackendChoice('gpu')).toThrow(UsageError);
    expect(() => parseBackendChoice('gpu')).toThrow(/auto, node, wasm, cpu/);
  });
});
