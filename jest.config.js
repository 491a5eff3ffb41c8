// Jest runs in native ESM mode (node --experimental-vm-modules) because
// @kubernetes/client-node 2.x ships only ESM; swc strips our TypeScript.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};

const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.dev/'],
};

/** @type {import('jest').Config} */
export default {
  // A global option (projects cannot set it); e2e hooks that start a cluster set their own.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{pkg,cmd}/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/{integration,fakes}/**/*.test.ts'],
    },
    // The same scenarios against the fake Coder and a real coderd v2.30.0 (make test-contract).
    {
      ...common,
      displayName: 'contract',
      testMatch: ['<rootDir>/test/contract/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
    // Only with a container runtime (make test-e2e-k3s); not part of make test.
    {
      ...common,
      displayName: 'k3s',
      testMatch: ['<rootDir>/test/k3s/**/*.test.ts'],
    },
  ],
};
