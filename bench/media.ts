/** Test media for benchmarks: the test pattern with a tone, cut exactly as the capture client cuts it (testkit/media.ts). */
import { testPattern } from '../testkit/media.ts';

/** `chunks` chunks of `chunkSeconds` of the test pattern at `width`×`height`@`fps`. */
export function generateChunks(opts: {
  width: number;
  height: number;
  fps: number;
  chunks: number;
  chunkSeconds: number;
}): Promise<Buffer[]> {
  return testPattern({
    seconds: opts.chunks * opts.chunkSeconds,
    chunkSeconds: opts.chunkSeconds,
    size: `${opts.width}x${opts.height}`,
    fps: opts.fps,
  });
}
