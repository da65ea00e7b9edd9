/**
 * `--keep-video` for the pipeline: sanitize a recording into the store's kept-video place
 * (`<store>/videos/<episode-id>.mp4`, where purge looks) and log it in the audit log.
 */
import * as path from 'node:path';
import { appendAudit } from './audit.ts';
import { sha256File } from './gate.ts';
import { keptVideoPath } from './purge.ts';
import { sanitizeVideo, type SanitizeOptions, type SanitizeReport } from './sanitize.ts';

export async function keepVideo(store: string, episodeId: string, recording: string, opts: SanitizeOptions & { actor?: string; key?: Buffer | Uint8Array } = {}): Promise<{ path: string; report: SanitizeReport }> {
  if (!/^[0-9a-f]{64}$/.test(episodeId)) throw new Error(`keepVideo: not an episode id: ${episodeId}`);
  const out = keptVideoPath(store, episodeId);
  const report = await sanitizeVideo(recording, out, opts);
  appendAudit(store, {
    action: 'keep-video', actor: opts.actor, episode: episodeId, recording: sha256File(recording),
    details: {
      file: path.relative(store, out), audio: report.audio, metadata_removed: report.removed.tags.map((t) => t.key),
      streams_removed: report.removed.streams.length, faces_blurred_frames: report.faces.frames_with_faces,
      verified_max_face_score: report.verification.max_face_score,
    },
  }, opts.key);
  return { path: out, report };
}
