/**
 * An EpisodeSource held in memory: for serving episodes straight from a pipeline without a store, and for
 * tests and benchmarks. `append` adds to the end of the stream (as the store's index grows) and encodes the
 * episode for the wire once: its arrays checksummed (as the store has them from its files), its header and
 * reports serialised; every trainer, and every redelivery, is sent that same encoding (the tensor frames are
 * views on the episode's arrays, not copies). The episode must not change afterwards: changed arrays fail the
 * trainer's check (the server then sends the episode again, encoded afresh with new checksums); changed
 * reports are not seen.
 */
import { UserError } from '../errors.ts';
import { episodeChecksums, type Episode, type IndexEntry } from '../store/episode.ts';
import type { EpisodeSource } from './server.ts';
import { encodeEpisode, headerFrame, type EncodedEpisode } from './wire.ts';

export class MemorySource implements EpisodeSource {
  private readonly entries: IndexEntry[] = [];
  private readonly episodes = new Map<string, Episode>();
  private readonly encodings = new Map<string, EncodedEpisode>();

  constructor(items: { entry: IndexEntry; episode: Episode }[] = []) {
    for (const it of items) this.append(it.entry, it.episode);
  }

  append(entry: IndexEntry, episode: Episode): void {
    if (this.episodes.has(entry.id)) return;
    const ep = episode.checksums ? episode : { ...episode, checksums: episodeChecksums(episode) };
    const enc = encodeEpisode(ep, entry);
    headerFrame(enc, 0, 1); // serialises the header once (kept in enc.headerTail)
    this.entries.push(entry);
    this.episodes.set(entry.id, ep);
    this.encodings.set(entry.id, enc);
  }

  encoded(id: string): EncodedEpisode | undefined {
    return this.encodings.get(id);
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
