const os = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Jest's default is one worker fewer than the CPUs: one on a 2-core machine, where most test files wait on
  // sockets and child processes rather than compute. Two workers there take the suite from ~96 s to ~68 s.
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // isolatedModules (in tsconfig.json): transpile only; the build `npm test` runs first (and `npm run typecheck`) type-checks.
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // One temporary directory per run, removed at the end (CDK apps stage their assets under TMPDIR).
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
};
