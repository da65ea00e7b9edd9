import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compile dist/ first: CLI tests run bin/reel2real.js, which runs dist/ when it is up to date.
    globalSetup: ['test/helpers/build-dist.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run files in parallel on both, but never more.
    maxWorkers: 2,
    reporters: ['default'],
    // Tests run as the operator: the operator key (pseudonyms, consent signatures, the keyed audit log) is set,
    // as on an ingest machine. Tests about a missing or different key pass their own env or key.
    env: { REEL2REAL_PSEUDONYM_KEY: '7e57000000000000000000000000000000000000000000000000000000007e57' },
  },
});
