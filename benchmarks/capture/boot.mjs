// Entry for benchmark child processes: register tsx in-process (as bin/reel2real.js does) rather than with
// `node --import tsx`, whose loader hooks kept the main thread busy while the capture workers ran.
import { register } from 'tsx/esm/api';

register();
await import('./run.ts');
