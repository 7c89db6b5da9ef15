/** Converted segments read back as a viewer's decoder sees them: each frame's luma, with libav in-process. */
import { ChunkReader } from '../gpu-pool/chunk-reader.ts';
import { FrameScaler, pictureSize } from '../gpu-pool/frame-scaler.ts';

export interface GrayFrame {
  gray: Uint8Array;
  width: number;
  height: number;
}

/** Every frame of a playable MP4 (an init segment and its media segment, concatenated), or only the last. */
export function grayFrames(file: Uint8Array, which: 'all' | 'last' = 'all'): GrayFrame[] {
  const reader = ChunkReader.open(file);
  const scaler = new FrameScaler();
  const frames: GrayFrame[] = [];
  let out = new Uint8Array(0);
  try {
    for (const frame of reader.frames()) {
      const { width, height } = frame;
      if (which === 'all' || out.length !== pictureSize(width, height, 'yuv420p'))
        out = new Uint8Array(pictureSize(width, height, 'yuv420p'));
      scaler.scale(frame, width, height, 'yuv420p', out);
      const picture = { gray: out.subarray(0, width * height), width, height };
      if (which === 'all') frames.push(picture);
      else frames[0] = picture;
    }
  } finally {
    scaler.close();
    reader.close();
  }
  return frames;
}
