import * as tf from '@tensorflow/tfjs';
import { describeEngine, initEngine, parseBackendChoice } from '../src/model/engine';
import { MldeployError, UsageError } from '../src/errors';
import { explainLoadError } from '../src/model/node-engine';
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

  // Forcing node can only fail where tfjs-node does not load.
  (expectedAutoEngine() === 'node' ? it.skip : it)('forcing an engine that cannot load is a clear runtime error', async () => {
    await expect(initEngine('node')).rejects.toThrow(MldeployError);
    await expect(initEngine('node')).rejects.toThrow(/the node engine is not available here .*try --backend auto/);
  });

  it('rejects unknown backend names as a usage error', () => {
    expect(parseBackendChoice('wasm')).toBe('wasm');
    expect(() => parseBackendChoice('gpu')).toThrow(UsageError);
    expect(() => parseBackendChoice('gpu')).toThrow(/auto, node, wasm, cpu/);
  });

  it("turns tfjs-node's own load errors into the reason and the fix", () => {
    // tfjs-node 4.22's message when node-pre-gyp's binding path is empty (install script not run).
    const missing =
      'The Node.js native addon module (tfjs_binding.node) can not be found at path: /app/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. ';
    expect(explainLoadError(missing)).toMatch(/^@tensorflow\/tfjs-node is installed but its native binding is missing .*fix: npm rebuild @tensorflow\/tfjs-node/);
    expect(explainLoadError('(0 , util_1.isNullOrUndefined) is not a function')).toMatch(/does not run on Node .*use Node 20 or 22; tfjs#8609\)$/);
    expect(explainLoadError('something else')).toBe('something else');
  });
});
