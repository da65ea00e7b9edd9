// Worker-thread entry for capture segments: register tsx in this thread (the sources are TypeScript), then
// run the segment worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
