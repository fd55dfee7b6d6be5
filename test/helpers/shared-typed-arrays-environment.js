'use strict';
/**
 * jest's node environment with the host realm's typed-array and ArrayBuffer constructors.
 *
 * Why: jest runs each test file in its own vm context, so `Float32Array` in code under test is
 * the context's, while a native addon (tfjs-node's binding) creates its typed arrays in the host
 * realm. tfjs-core's `x instanceof Float32Array` checks (e.g. concatenateTypedArrays during
 * model.save) then reject tfjs-node's own tensor data: "Unsupported TypedArray subtype:
 * Float32Array". The CLI has one realm and never sees this; under jest both sides must agree.
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

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of HOST_CONSTRUCTORS) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArraysEnvironment;
