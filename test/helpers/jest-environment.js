'use strict';
/**
 * jest's node environment, made to run tfjs-node as the CLI does: with the host realm's
 * typed-array and ArrayBuffer constructors, and without the wheel-built TensorFlow's start-up line.
 *
 * Typed arrays: jest runs each test file in its own vm context, so `Float32Array` in code under test is
 * the context's, while a native addon (tfjs-node's binding) creates its typed arrays in the host
 * realm. tfjs-core's `x instanceof Float32Array` checks (e.g. concatenateTypedArrays during
 * model.save) then reject tfjs-node's own tensor data: "Unsupported TypedArray subtype:
 * Float32Array". onnxruntime-node's binding does the same with its outputs, which onnxruntime-common
 * (loaded inside the sandbox) checks with `instanceof Float32Array`. The CLI has one realm and never
 * sees this; under jest both sides must agree.
 * Worker-thread messages and Buffer (already the host's) arrive in the host realm too.
 */
const { TestEnvironment } = require('jest-environment-node');

const HOST_CONSTRUCTORS = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class TfjsNodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    // The TensorFlow 2.21 library that ../shared/tools/tfjs-node-from-wheel.sh builds against
    // prints "oneDNN custom operations are on" to stderr at load, whatever TF_CPP_MIN_LOG_LEVEL
    // says (tfjs-node's own TensorFlow 2.9 does not), which breaks tests of exact CLI stderr.
    // Set in this worker's real environment before the test context copies it, so tfjs-node
    // loaded here and every child process started by a test get it.
    process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
    super(config, context);
    for (const name of HOST_CONSTRUCTORS) this.global[name] = globalThis[name];
  }
}

module.exports = TfjsNodeEnvironment;
