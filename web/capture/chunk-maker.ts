/**
 * Turns recorded pieces into the chunks the server takes — self-contained MP4 files, H.264 video and
 * AAC audio, on one continuous capture timeline — with ffmpeg.wasm (`@ffmpeg/ffmpeg`; its worker and
 * `@ffmpeg/core` are served by our own server). H.264 from the recorder is copied (a remux, ≈ tens of
 * ms); anything else (VP8/VP9 from browsers without H.264 recording) is encoded with x264. Opus audio
 * becomes AAC. Each chunk's timestamps start at its recording's start minus the session's origin, and
 * the origin is written into the file (`stereospot_capture_origin`, µs), exactly as the capture CLI
 * does: the server's playlist then carries the true capture time of every frame.
 */
import { FFmpeg } from '@ffmpeg/ffmpeg';
import { CAPTURE_ORIGIN_TAG } from '../../protocol/keys.ts';
import type { RecordedPiece } from './recorder.ts';

export interface MadeChunk {
  bytes: Uint8Array;
  /** How the chunk was made. */
  how: 'remux' | 'encode';
  ms: number;
}

export class ChunkMaker {
  readonly #ffmpeg = new FFmpeg();
  readonly #log: string[] = [];
  #loaded: Promise<void> | null = null;

  constructor() {
    this.#ffmpeg.on('log', ({ message }) => {
      this.#log.push(message);
      if (this.#log.length > 40) this.#log.shift();
    });
  }

  /** Loads ffmpeg.wasm (31 MB, cached by the browser after the first time) from this server. */
  load(): Promise<void> {
    const asset = (file: string) => new URL(`/assets/ffmpeg/${file}`, location.href).href;
    this.#loaded ??= this.#ffmpeg
      .load({ classWorkerURL: asset('worker.js'), coreURL: asset('ffmpeg-core.js'), wasmURL: asset('ffmpeg-core.wasm') })
      .then(() => undefined);
    return this.#loaded;
  }

  /** One piece → one chunk; `originMs` is the session's media-time zero on the wall clock. */
  async make(piece: RecordedPiece, originMs: number): Promise<MadeChunk> {
    await this.load();
    const t0 = performance.now();
    const copyVideo = /avc1|h264/i.test(piece.mimeType);
    const input = `in_${piece.index}.${piece.mimeType.startsWith('video/mp4') ? 'mp4' : 'webm'}`;
    const output = `out_${piece.index}.mp4`;
    await this.#ffmpeg.writeFile(input, piece.bytes);
    const args = [
      '-hide_banner', '-loglevel', 'error', '-i', input,
      ...(copyVideo ? ['-c:v', 'copy'] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '600']),
      '-c:a', 'aac', '-b:a', '128k',
      '-output_ts_offset', ((piece.startedAt - originMs) / 1000).toFixed(6),
      '-metadata', `${CAPTURE_ORIGIN_TAG}=${Math.round(originMs * 1000)}`,
      // Arbitrary metadata keys are written (as mdta) only with use_metadata_tags.
      '-movflags', '+use_metadata_tags',
      '-f', 'mp4', output,
    ];
    try {
      this.#log.length = 0;
      const code = await this.#ffmpeg.exec(args);
      if (code !== 0) throw new Error(`ffmpeg.wasm could not make chunk ${piece.index} (exit ${code}): ${this.#log.slice(-3).join(' ') || 'no output'}`);
      const bytes = (await this.#ffmpeg.readFile(output)) as Uint8Array;
      return { bytes, how: copyVideo ? 'remux' : 'encode', ms: performance.now() - t0 };
    } finally {
      await this.#ffmpeg.deleteFile(input).catch(() => undefined);
      await this.#ffmpeg.deleteFile(output).catch(() => undefined);
    }
  }

  close(): void {
    this.#ffmpeg.terminate();
  }
}
