import t from 'tap';
import { advanceDepthState, frameRange, isSceneCut, thumbnail } from '../depth-range.ts';

/** One frame's depth into the state, as the pipeline does (depth-step.ts). */
const updateDepthState = (prev: Parameters<typeof advanceDepthState>[0], depth: Float32Array, thumb: number[]) =>
  advanceDepthState(prev, frameRange(depth), thumb);

t.test('the depth range is an EMA carried across frames and reset on a scene cut', async (t) => {
  const dark = new Array(144).fill(10);
  const bright = new Array(144).fill(200);
  const first = updateDepthState(null, Float32Array.from([0, 10]), dark);
  t.same([first.min, first.max], [0, 10], 'first frame: its own range');
  const next = updateDepthState(first, Float32Array.from([0, 20]), dark);
  t.ok(next.max > 10 && next.max < 20, 'smoothed, not jumped');
  const cut = updateDepthState(next, Float32Array.from([5, 6]), bright);
  t.same([cut.min, cut.max], [5, 6], 'a cut resets to the new range');
  t.ok(isSceneCut(dark, bright));
  t.notOk(isSceneCut(dark, dark));
  t.equal(thumbnail(new Uint8Array(8 * 2 * 3).fill(50), 8, 2).length, 144);
});

t.test('the range is robust: a few extreme pixels neither squash the scene nor move the range', async (t) => {
  // A smooth scene from 1 to 2, and 0.5 % of its pixels at 50 (a speck called very near).
  const scene = Float32Array.from({ length: 20_000 }, (_, i) => 1 + (i % 1000) / 1000);
  const specks = Float32Array.from(scene, (v, i) => (i % 200 === 7 ? 50 : v));
  const clean = frameRange(scene);
  const noisy = frameRange(specks);
  t.ok(
    Math.abs(noisy.max - clean.max) < 0.05,
    `the specks do not set the top of the range (${noisy.max.toFixed(3)} vs ${clean.max.toFixed(3)})`,
  );
  t.ok(clean.min < 1.05 && clean.max > 1.95, `the scene spans its range (${clean.min.toFixed(3)}…${clean.max.toFixed(3)})`);
  t.same(frameRange(new Float32Array(0)), { min: 0, max: 0 });
  t.same(frameRange(Float32Array.from([NaN, 3, Infinity])), { min: 3, max: 3 }, 'non-finite values are left out');
});
