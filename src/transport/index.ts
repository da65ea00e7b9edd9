/**
 * Streaming episodes to trainers: server, consumer, wire format, keys. See docs/wire-format.md.
 */
import { openStore } from '../store/store.ts';
import type { EpisodeSource, ServerEvent } from './server.ts';

export { EpisodeServer, defaultStateDir, type EpisodeSource, type ServerOptions, type ServerEvent, type CurveServerOptions, type ServerStats } from './server.ts';
export { EpisodeConsumer, type ConsumerOptions, type ConsumerEvent, type ReceivedEpisode, type CurveClientOptions } from './consumer.ts';
export { MemorySource } from './memory.ts';
export { generateKeyPair, readKeyPair, writeKeyPair, readAllowList, readPublicKey, z85Encode, z85Decode, type KeyPair } from './keys.ts';
export { crc32, decodeEpisode, encodeEpisode, episodeTensors, isLocalEndpoint, parseReports, PROTOCOL, SCHEMA, type EpisodeHeader, type EpisodeReports, type TensorInfo, type WireTensor } from './wire.ts';

/** Open the episode store at `dir` as a source for the server (src/store). */
export function openStoreSource(dir: string): EpisodeSource {
  return openStore(dir);
}

/** One line for a server event (the CLI's human-readable log). */
export function formatServerEvent(e: ServerEvent): string | null {
  switch (e.type) {
    case 'listening':
      return `serving ${e.episodes} episodes on ${e.endpoint}${e.curve ? ' (CURVE)' : ' (plain, local only)'}${e.telemetry ? `; telemetry on ${e.telemetry}` : ''}`;
    case 'hello':
      return `trainer ${e.name} joined (${e.mode}, cursor ${e.cursor}: ${e.acked}/${e.total} acked)`;
    case 'session-lost':
      return `trainer ${e.name} lost (${e.why}); ${e.released} unacked episodes go back to ${e.cursor}`;
    case 'bye':
      return `trainer ${e.name} left${e.released ? `; ${e.released} unacked episodes go back` : ''}`;
    case 'end':
      return `trainer ${e.name}: all ${e.total} episodes delivered and acked`;
    case 'appended':
      return `${e.count} new episodes (now ${e.total})`;
    case 'nack':
      return `trainer ${e.name} rejected episode ${e.seq} (${e.reason}); sending it again`;
    case 'unreadable':
      return `episode ${e.seq} (${e.id}) cannot be read: ${e.error}`;
    case 'refused':
      return `refused a connection from ${e.address}: key ${e.publicKey ?? '(none)'} is not on the allow-list`;
    case 'protocol-error':
      return `bad message from ${e.session}: ${e.message}`;
    case 'corrupted':
      return `test hook: corrupted episode ${e.seq} (${e.tensor}) on the wire`;
    default:
      return null;
  }
}
