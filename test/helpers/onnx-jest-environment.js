'use strict';
/**
 * jest's node environment with this process's typed-array constructors. onnxruntime-node's native
 * binding creates its output arrays in Node's main realm, and onnxruntime-common (loaded inside
 * jest's sandbox) checks them with `instanceof Float32Array` against the sandbox's own constructor,
 * which fails ("A float32 tensor's data must be type of function Float32Array()"). Outside jest
 * there is one realm and no such problem. Use with a `@jest-environment ./test/helpers/onnx-jest-environment.js` docblock.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array',
  'Uint8Array', 'Uint8ClampedArray', 'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
];

class OnnxEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxEnvironment;
