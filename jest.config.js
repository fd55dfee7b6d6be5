/** @type {import('jest').Config} */
module.exports = {
  // Host-realm typed arrays, so tfjs-node's native tensor data passes tfjs-core's instanceof checks.
  testEnvironment: '<rootDir>/test/helpers/shared-typed-arrays-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking runs once in `npm run typecheck`; jest only transpiles.
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 120000,
  // 2-core machines: two workers keep wasm-heavy suites from starving each other.
  maxWorkers: 2,
};
