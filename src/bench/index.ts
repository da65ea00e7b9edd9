/** Benchmarks: data quality against simulation success (`reel2real bench quality`). See docs/bench.md. */
export * from './stats.ts';
export * from './degrade.ts';
export * from './corpus.ts';
export * from './run.ts';
export * from './analyze.ts';
export * from './report.ts';
export * from './gate.ts';
