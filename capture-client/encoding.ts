/**
 * How the capture client encodes its picture: x264, fast, with no lookahead and no B-frames
 * (`zerolatency`: a frame leaves the encoder as soon as it entered — what the live stream needs, and
 * what keeps a chunk's cut close to its last frame), and a keyframe exactly every `keyEvery` seconds of
 * media time (each chunk starts with one; scene cuts add none). Shared with the test media that stand in
 * for a capture (testkit/).
 */
export function captureVideoArgs(keyEvery: number): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-force_key_frames',
    `expr:gte(t,n_forced*${keyEvery})`,
    '-sc_threshold',
    '0',
  ];
}
