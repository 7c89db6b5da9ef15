/**
 * Every stereo output format (protocol/layout.ts) through the real pool, read back off the decoded
 * output: the frame is the layout's size; the two views sit where the layout says (each resembles the
 * same view of full side by side, and between them the picture shifts as nearer points come out of the
 * screen — read in the layout's order, a wrongly ordered pair would read as going in); the stream says
 * its packing to 3D TVs (the frame-packing SEI) where one applies. Anaglyphs: red from the left view and
 * cyan from the right, mixed as the method says.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { eyeRects, type Rect, STEREO_MODES, type StereoMode } from '../../protocol/layout.ts';
import { decodeGray, ffmpeg, makeChunks, writeCmafPlaylist } from '../../testkit/media.ts';
import { GpuPool } from '../index.ts';
import { meanDisparity } from '../stereo-readback.ts';

const exec = promisify(execFile);

/** `rect` of a frame `width`×`height` (`channels` per pixel), resampled (nearest) to `w`×`h`, one channel (`channel`). */
function view(frame: Uint8Array, width: number, height: number, rect: Rect, w: number, h: number, channels = 1, channel = 0): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(height - 1, Math.floor((rect.y + ((y + 0.5) / h) * rect.h) * height));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(width - 1, Math.floor((rect.x + ((x + 0.5) / w) * rect.w) * width));
      out[y * w + x] = frame[(sy * width + sx) * channels + channel]!;
    }
  }
  return out;
}

/** Two views side by side in one gray frame (what the disparity reader takes). */
function pair(left: Uint8Array, right: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(2 * w * h);
  for (let y = 0; y < h; y++) {
    out.set(left.subarray(y * w, (y + 1) * w), y * 2 * w);
    out.set(right.subarray(y * w, (y + 1) * w), y * 2 * w + w);
  }
  return out;
}

const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;

/** The stereo packing the stream's first frame declares (the decoder's stereoscopic side data, as showinfo prints it), or null. */
async function declaredPacking(input: string): Promise<string | null> {
  const { stderr } = await exec(ffmpeg, ['-hide_banner', '-i', input, '-frames:v', '1', '-vf', 'showinfo', '-f', 'null', '-']);
  return /stereoscopic information: type - ([a-z ]+?)(,|\n|$)/m.exec(stderr)?.[1]?.trim() ?? null;
}

const SIZES: Record<StereoMode, [number, number]> = {
  sbs: [320, 90],
  'half-sbs': [160, 90],
  tb: [160, 180],
  'half-tb': [160, 88], // each eye 44 rows: 45 would not be even
  cross: [320, 90],
  anaglyph: [160, 90],
  'anaglyph-half': [160, 90],
  'anaglyph-dubois': [160, 90],
};
const PACKING: Record<StereoMode, string | null> = {
  sbs: 'side by side',
  'half-sbs': 'side by side',
  tb: 'top and bottom',
  'half-tb': 'top and bottom',
  cross: null,
  anaglyph: null,
  'anaglyph-half': null,
  'anaglyph-dubois': null,
};

t.test('each layout puts the two views where it says', async (t) => {
  const [chunk] = await makeChunks({
    video: 'mandelbrot=size=160x90:rate=30:start_scale=2:end_scale=0.5:end_pts=60',
    seconds: 1,
    chunkSeconds: 1,
  });
  const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu', warmupFrames: 0, depthFps: 0 });
  t.teardown(() => pool.close());
  const decoded = new Map<StereoMode, { frame: Uint8Array; width: number; height: number; packing: string | null }>();
  for (const mode of STEREO_MODES) {
    const result = await pool.run({ chunk: Buffer.from(chunk!), mode, outputHeight: 90, strength: 0.05 });
    const [width, height] = [result.width, result.height];
    t.same([width, height], SIZES[mode], `${mode}: ${width}×${height}`);
    const { playlist, cleanup } = await writeCmafPlaylist(result.init, [result]);
    try {
      const frames = await decodeGray(playlist, width, height, 'rgb24');
      decoded.set(mode, { frame: frames.at(-1)!, width, height, packing: await declaredPacking(playlist) });
    } finally {
      await cleanup();
    }
  }
  const [w, h] = [160, 90];
  /** One eye of a layout's decoded frame at w×h: a colour channel (0 red, 1 green, 2 blue) or its luma (3). */
  const eye = (mode: StereoMode, which: 'left' | 'right', c: number) => {
    const { frame, width, height } = decoded.get(mode)!;
    const rect = eyeRects(mode)[which];
    if (c < 3) return view(frame, width, height, rect, w, h, 3, c);
    const [r, g, b] = [0, 1, 2].map((k) => view(frame, width, height, rect, w, h, 3, k));
    return r!.map((v, i) => Math.round(0.299 * v + 0.587 * g![i]! + 0.114 * b![i]!));
  };

  // The reference: full side by side, left view first.
  const reference = { left: eye('sbs', 'left', 3), right: eye('sbs', 'right', 3) };
  const referenceDisparity = meanDisparity(pair(reference.left, reference.right, w, h), 2 * w, h);
  t.ok(referenceDisparity > 0.3, `sbs: the views differ as depth says (mean disparity ${referenceDisparity.toFixed(2)} px)`);

  for (const mode of ['sbs', 'half-sbs', 'tb', 'half-tb', 'cross'] as const) {
    const left = eye(mode, 'left', 3);
    const right = eye(mode, 'right', 3);
    const sameLeft = meanAbsDiff(left, reference.left);
    const sameRight = meanAbsDiff(right, reference.right);
    t.ok(
      sameLeft < 12 && sameRight < 12,
      `${mode}: each view is the same view as full SBS's (mean difference ${sameLeft.toFixed(1)}, ${sameRight.toFixed(1)})`,
    );
    const d = meanDisparity(pair(left, right, w, h), 2 * w, h);
    t.ok(d > 0.15, `${mode}: read in its order, the pair comes out of the screen (${d.toFixed(2)} px)`);
    if (mode === 'cross') {
      const naive = meanDisparity(pair(right, left, w, h), 2 * w, h);
      t.ok(naive < 0, `cross: read left-first it would go into the screen (${naive.toFixed(2)} px): the right view is first`);
    }
    t.equal(decoded.get(mode)!.packing, PACKING[mode], `${mode}: the stream declares ${PACKING[mode] ?? 'no packing'}`);
  }

  // Anaglyphs, against full SBS's two views: each channel is what its method makes of them.
  const [lr, lg, lb] = [0, 1, 2].map((c) => eye('sbs', 'left', c)) as [Uint8Array, Uint8Array, Uint8Array];
  const [rr, rg, rb] = [0, 1, 2].map((c) => eye('sbs', 'right', c)) as [Uint8Array, Uint8Array, Uint8Array];
  const mix = (k: number[]) =>
    lr.map((_, i) =>
      Math.max(0, Math.min(255, k[0]! * lr[i]! + k[1]! * lg[i]! + k[2]! * lb[i]! + k[3]! * rr[i]! + k[4]! * rg[i]! + k[5]! * rb[i]!)),
    );
  const expected: Record<'anaglyph' | 'anaglyph-half' | 'anaglyph-dubois', Uint8Array[]> = {
    anaglyph: [lr, rg, rb],
    'anaglyph-half': [reference.left, rg, rb],
    'anaglyph-dubois': [
      mix([0.456, 0.5, 0.176, -0.043, -0.088, -0.002]),
      mix([-0.04, -0.038, -0.016, 0.378, 0.734, -0.018]),
      mix([-0.015, -0.021, -0.005, -0.072, -0.113, 1.226]),
    ],
  };
  for (const mode of ['anaglyph', 'anaglyph-half', 'anaglyph-dubois'] as const) {
    // Chroma is subsampled in the stream: compared on the red and green channels, with a tolerance.
    const errors = [0, 1].map((c) => meanAbsDiff(eye(mode, 'left', c), expected[mode][c]!));
    t.ok(
      errors.every((e) => e < 14),
      `${mode}: red and green as the method mixes the two views (off by ${errors.map((e) => e.toFixed(1)).join(', ')})`,
    );
    const wrong = mode === 'anaglyph' ? expected['anaglyph-half'] : expected.anaglyph;
    const other = meanAbsDiff(eye(mode, 'left', 0), wrong[0]!);
    t.ok(other > errors[0]! + 5, `${mode}: and not as another method would (${other.toFixed(1)})`);
    t.equal(decoded.get(mode)!.packing, null, `${mode}: no packing declared`);
  }
});
