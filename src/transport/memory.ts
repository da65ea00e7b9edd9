/**
 * An EpisodeSource held in memory: for serving episodes straight from a pipeline without a store, and for
 * tests and benchmarks. `append` adds to the end of the stream (as the store's index grows) and checksums the
 * episode's arrays once, as the store has them from its files; the arrays must not change afterwards (if
 * they do, the trainer's check fails and the server sends the episode again with fresh checksums).
 */
import { UserError } from '../errors.ts';
import { episodeChecksums, type Episode, type IndexEntry } from '../store/episode.ts';
import type { EpisodeSource } from './server.ts';

export class MemorySource implements EpisodeSource {
  private readonly entries: IndexEntry[] = [];
  private readonly episodes = new Map<string, Episode>();

  constructor(items: { entry: IndexEntry; episode: Episode }[] = []) {
    for (const it of items) this.append(it.entry, it.episode);
  }

  append(entry: IndexEntry, episode: Episode): void {
    if (this.episodes.has(entry.id)) return;
    this.entries.push(entry);
    this.episodes.set(entry.id, episode.checksums ? episode : { ...episode, checksums: episodeChecksums(episode) });
  }

  list(): IndexEntry[] {
    return this.entries.slice();
  }

  get(id: string): Episode {
    const ep = this.episodes.get(id);
    if (!ep) throw new UserError(`no episode ${id}`);
    return ep;
  }
}
