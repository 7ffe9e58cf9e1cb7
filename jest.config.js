// Three suites, one runner: unit (Pulumi mocks), providers and emulator (against the emulator),
// end to end (the real engine through the Automation API). Coverage stays off: instrumentation
// would be serialized into dynamic providers.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: true }] },
  testMatch: ["<rootDir>/tests/**/*.test.ts"],
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 120000,
  testSequencer: "<rootDir>/tests/support/end-to-end-first-sequencer.js",
  verbose: true,
};
