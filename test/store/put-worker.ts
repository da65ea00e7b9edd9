/**
 * Child process for the store's concurrency and crash tests:
 *   node --import tsx test/store/put-worker.ts <store> <first-seed> <count> [frames]
 * puts episodes with seeds first..first+count-1 and prints their ids, one per line.
 */
import { openStore } from '../../src/store/store.ts';
import { syntheticEpisode } from './fixtures.ts';

const [dir, first, count, frames] = process.argv.slice(2);
const store = openStore(dir, { create: true });
for (let i = 0; i < Number(count); i++) {
  const id = store.put(syntheticEpisode(Number(first) + i, Number(frames ?? 40)));
  process.stdout.write(id + '\n');
}
