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
  /** How the chunk was made: copied, encoded, or the last picture held over the piece's sound. */
  how: 'remux' | 'encode' | 'still';
  ms: number;
}

/** The last picture the page showed, as a PNG (for a piece that recorded sound but no frame). */
export type StillFrame = () => Promise<Uint8Array | null>;

/** How far past its span's length a chunk's sound may run (the next chunk's starts where it ends). */
const SOUND_MARGIN_S = 0.05;

export class ChunkMaker {
  readonly #ffmpeg = new FFmpeg();
  readonly #log: string[] = [];
  /** Where the last chunk's sound ended (wall-clock ms), so the next one's starts there. */
  #soundEnd: number | null = null;
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

  /**
   * One piece → one chunk; `originMs` is the session's media-time zero on the wall clock. A piece that
   * recorded no frame (a static screen: browsers send frames only when something changes; or a starved
   * tab) holds the last picture shown (`still`) for its sound, or for its length when silent, so the
   * stream neither fails a chunk nor loses the sound.
   */
  async make(piece: RecordedPiece, originMs: number, still: StillFrame): Promise<MadeChunk> {
    await this.load();
    const t0 = performance.now();
    const input = `in_${piece.index}.${piece.mimeType.startsWith('video/mp4') ? 'mp4' : 'webm'}`;
    const output = `out_${piece.index}.mp4`;
    const image = `still_${piece.index}.png`;
    await this.#ffmpeg.writeFile(input, piece.bytes);
    const timing = [
      '-output_ts_offset',
      ((piece.startedAt - originMs) / 1000).toFixed(6),
      '-metadata',
      `${CAPTURE_ORIGIN_TAG}=${Math.round(originMs * 1000)}`,
      // Arbitrary metadata keys are written (as mdta) only with use_metadata_tags.
      '-movflags',
      '+use_metadata_tags',
      '-f',
      'mp4',
      output,
    ];
    const encode = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '600'];
    const length = (piece.lengthMs / 1000).toFixed(6);
    try {
      const streams = await this.#streams(input);
      // The piece runs past its span (recorder.ts): the picture is cut at the span's end; the sound
      // starts where the previous chunk's ended (or where this piece's begins, if later: its
      // decoder's pre-skip drops the first ≈ 80 ms, which the previous piece's overlap held) and runs
      // to a little past the span's length from its own start — so there is neither a hole nor a
      // doubled stretch between consecutive chunks' sound, even when two recorders' starts differ.
      const soundFrom = Math.max(streams.soundStart, this.#soundEnd === null ? 0 : (this.#soundEnd - piece.startedAt) / 1000);
      const soundTo = streams.soundStart + piece.lengthMs / 1000 + SOUND_MARGIN_S;
      const audio = streams.audio && soundTo > soundFrom;
      const sound = ['-af', `atrim=start=${soundFrom.toFixed(6)}:end=${soundTo.toFixed(6)}`, '-c:a', 'aac', '-b:a', '128k'];
      let how: MadeChunk['how'];
      let args: string[];
      if (streams.video) {
        how = /avc1|h264/i.test(piece.mimeType) ? 'remux' : 'encode';
        const picture = ['-t', length, '-i', input];
        args = audio
          ? [
              ...picture,
              '-i',
              input,
              '-map',
              '0:v:0',
              '-map',
              '1:a:0',
              ...(how === 'remux' ? ['-c:v', 'copy'] : encode),
              ...sound,
              ...timing,
            ]
          : [...picture, '-map', '0:v:0', ...(how === 'remux' ? ['-c:v', 'copy'] : encode), ...timing];
      } else {
        // No frame: a static screen (browsers send frames only when something changes) or a starved tab.
        const png = await still();
        if (!png) throw new Error(`piece ${piece.index} recorded no picture and there is none to hold`);
        await this.#ffmpeg.writeFile(image, png);
        how = 'still';
        const picture = ['-loop', '1', '-framerate', '30', '-t', length, '-i', image];
        const fit = ['-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', ...encode];
        args = audio
          ? [...picture, '-i', input, '-map', '0:v', '-map', '1:a', ...fit, ...sound, ...timing]
          : [...picture, ...fit, ...timing];
      }
      this.#log.length = 0;
      const code = await this.#ffmpeg.exec(['-hide_banner', '-loglevel', 'error', ...args]);
      if (code !== 0)
        throw new Error(`ffmpeg.wasm could not make chunk ${piece.index} (exit ${code}): ${this.#log.slice(-3).join(' ') || 'no output'}`);
      const bytes = (await this.#ffmpeg.readFile(output)) as Uint8Array;
      if (audio) this.#soundEnd = piece.startedAt + soundTo * 1000;
      return { bytes, how, ms: performance.now() - t0 };
    } finally {
      for (const file of [input, output, image]) await this.#ffmpeg.deleteFile(file).catch(() => undefined);
    }
  }

  /**
   * Which streams a file has (ffmpeg prints them when given an input), and where its sound begins:
   * the first decoded audio frame's time, after the decoder's pre-skip. The log level is set each
   * time: ffmpeg.wasm keeps the last run's level (the conversions run at `error`).
   */
  async #streams(file: string): Promise<{ video: boolean; audio: boolean; soundStart: number }> {
    this.#log.length = 0;
    await this.#ffmpeg.exec([
      '-hide_banner',
      '-loglevel',
      'info',
      '-i',
      file,
      '-map',
      '0:a:0?',
      '-af',
      'ashowinfo',
      '-frames:a',
      '1',
      '-f',
      'null',
      '-',
    ]);
    const lines = this.#log.filter((line) => /Stream #\d+:\d+/.test(line));
    const first = this.#log.map((line) => /pts_time:\s*(-?[\d.]+)/.exec(line)).find(Boolean);
    const audio = lines.some((l) => / Audio: /.test(l));
    return { video: lines.some((l) => / Video: /.test(l)), audio: audio && first !== undefined, soundStart: first ? Number(first![1]) : 0 };
  }

  close(): void {
    this.#ffmpeg.terminate();
  }
}
