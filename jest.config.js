/** @type {import('jest').Config} */
module.exports = {
  // node, plus host-realm typed arrays so tfjs-node's native tensor data passes tfjs-core's checks.
  testEnvironment: '<rootDir>/test/helpers/jest-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking runs once in `npm run typecheck`; jest only transpiles.
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 120000,
  // 2-core machines: two workers keep wasm-heavy suites from starving each other.
  maxWorkers: 2,
};
