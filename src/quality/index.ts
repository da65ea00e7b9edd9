/** Quality gate: task scripts, thresholds, per-clip metrics, verdicts and per-frame masks. */
export * from './config.ts';
export * from './assess.ts';
export { qaFile, formatReport } from './qa.ts';
