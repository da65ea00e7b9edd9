/**
 * Every frame of an MP4/MOV file, once each and in presentation order, decoded with WebCodecs (VideoDecoder) from
 * the file's own samples (mp4.ts): no seeking, so each frame is decoded once instead of from the last key frame at
 * every seek. Only for what mp4.ts can describe (H.264, VP9 4:2:0) and the browser can decode, with an upright track
 * (a rotated phone video goes through the <video> element, which applies the rotation); otherwise the page seeks.
 */
import type { Mp4Video } from './mp4.ts';

/** The decoder config for a file, or null when this path cannot take it. */
export async function decoderConfig(v: Mp4Video | null): Promise<VideoDecoderConfig | null> {
  if (!v || !v.codec || !v.upright || !v.samples.length || typeof VideoDecoder === 'undefined') return null;
  // VP9 profiles 1 and 3 (4:4:4, e.g. planar RGB): the decoded VideoFrame is drawn with another colour conversion
  // than the <video> element uses (measured: a lossless RGB clip's body landmarks moved 41 mm), so these go the
  // seeking way, which gives the same pixels as ffmpeg.
  if (/^vp09\.0[13]\./.test(v.codec)) return null;
  const config: VideoDecoderConfig = { codec: v.codec, codedWidth: v.width, codedHeight: v.height, ...(v.description ? { description: v.description } : {}) };
  try {
    return (await VideoDecoder.isConfigSupported(config)).supported ? config : null;
  } catch {
    return null;
  }
}

/** Decoded frames with their presentation time (seconds from the first). The caller closes each frame. */
export async function* decodeFile(file: Blob, v: Mp4Video, config: VideoDecoderConfig): AsyncGenerator<{ frame: VideoFrame; time: number }> {
  const ready: VideoFrame[] = [];
  let failure: unknown = null;
  let flushed = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const decoder = new VideoDecoder({
    output: (f) => {
      ready.push(f);
      poke();
    },
    error: (e) => {
      failure = e;
      poke();
    },
  });
  decoder.addEventListener('dequeue', poke);
  decoder.configure(config);
  // Chunk timestamps in microseconds of the frame's presentation time; frames come out in that order.
  const us = (t: number) => Math.round(t * 1e6);
  let next = 0;
  try {
    for (;;) {
      while (next < v.samples.length && ready.length < 4 && decoder.decodeQueueSize < 4) {
        const s = v.samples[next++];
        const data = new Uint8Array(await file.slice(s.offset, s.offset + s.size).arrayBuffer());
        decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: us(s.time), data }));
      }
      if (next >= v.samples.length && !flushed) {
        flushed = true;
        void decoder.flush().then(() => {
          next = Infinity;
          poke();
        }, (e) => {
          failure ??= e;
          poke();
        });
      }
      if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
      const f = ready.shift();
      if (f) {
        yield { frame: f, time: f.timestamp / 1e6 };
        continue;
      }
      if (next === Infinity) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (ready.length || failure || next === Infinity || (next < v.samples.length && decoder.decodeQueueSize < 4)) poke();
      });
    }
  } finally {
    for (const f of ready) f.close();
    if (decoder.state !== 'closed') decoder.close();
  }
}
