/** Privacy and consent: consent manifests, pseudonyms, the ingest gate, audit log, retention purge, video sanitizing. */
export * from './consent.ts';
export * from './pseudonym.ts';
export * from './gate.ts';
export * from './audit.ts';
export * from './purge.ts';
export { sanitizeVideo, verifySanitized, metadataFindings, type SanitizeOptions, type SanitizeReport } from './sanitize.ts';
export { keepVideo } from './keep.ts';
