import t from 'tap';
import { isSceneCut, thumbnail, updateDepthState } from '../depth-range.ts';

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
