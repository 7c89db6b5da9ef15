import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadDepthModel } from '../model.ts';
import { GraphBuilder, floatTensor } from '../onnx-graph.ts';

/** A frame whose lower half is textured and upper half flat grey. */
function testFrame(w: number, h: number): Uint8Array {
  const f = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = y < h / 2 ? 128 : (x + y) % 2 ? 30 : 220;
      f.set([v, v, v], (y * w + x) * 3);
    }
  }
  return f;
}

async function tempModel(t: Test, bytes: Uint8Array): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-model-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'model.onnx');
  await writeFile(file, bytes);
  return file;
}

t.test('the built-in model has the Depth-Anything signature and finds the lower, textured half nearer', async (t) => {
  const model = await loadDepthModel({ modelPath: null, executionProvider: 'cpu', inputHeight: 126 });
  t.teardown(() => model.close());
  t.equal(model.source, 'built-in');
  t.equal(model.provider, 'cpu');
  t.same(model.inputSize(640, 360), { width: 224, height: 126 });
  const { depth, width, height } = await model.estimate(testFrame(320, 180), 320, 180);
  t.same([width, height], [224, 126]);
  t.equal(depth.length, 224 * 126);
  const mean = (y0: number, y1: number) => {
    let s = 0;
    for (let y = y0; y < y1; y++) for (let x = 0; x < width; x++) s += depth[y * width + x]!;
    return s / ((y1 - y0) * width);
  };
  t.ok(mean(80, 120) > mean(5, 45), 'bottom is nearer (larger inverse depth) than top');
});

t.test('DEPTH_MODEL_PATH: a model with the real signature loads and runs', async (t) => {
  // Same contract as a Depth-Anything-V2 export: [N,3,H,W] float → [N,1,H,W]; here the channel mean.
  const g = new GraphBuilder();
  g.op('ReduceMean', ['pixel_values'], { axes: { ints: [1] }, keepdims: { i: 1 } });
  g.nodes[0]!.output = ['predicted_depth'];
  const file = await tempModel(t, g.build(
    floatTensor('pixel_values', ['batch', 3, 'height', 'width']),
    floatTensor('predicted_depth', ['batch', 1, 'height', 'width']), 17, 'tiny'));
  const model = await loadDepthModel({ modelPath: file, executionProvider: 'cpu', inputHeight: 56 });
  t.teardown(() => model.close());
  t.same(model.inputSize(1280, 720), { width: 98, height: 56 }, 'dynamic dims: multiples of 14 near the aspect');
  const frame = new Uint8Array(64 * 36 * 3).fill(255);
  const { depth, width, height } = await model.estimate(frame, 64, 36);
  t.same([width, height], [98, 56], 'dynamic output follows the input size');
  // White, ImageNet-normalised, averaged over channels.
  const expected = ((1 - 0.485) / 0.229 + (1 - 0.456) / 0.224 + (1 - 0.406) / 0.225) / 3;
  t.ok(Math.abs(depth[0]! - expected) < 1e-4, 'the frame was normalised with ImageNet mean/std, CHW');
});

t.test('a model with a fixed input size is fed at that size', async (t) => {
  const g = new GraphBuilder();
  g.op('ReduceMean', ['x'], { axes: { ints: [1] }, keepdims: { i: 0 } });
  g.nodes[0]!.output = ['y'];
  const file = await tempModel(t, g.build(floatTensor('x', [1, 3, 42, 70]), floatTensor('y', [1, 42, 70]), 17, 'fixed'));
  const model = await loadDepthModel({ modelPath: file, executionProvider: 'cpu', inputHeight: 126 });
  t.teardown(() => model.close());
  t.same(model.inputSize(640, 360), { width: 70, height: 42 });
  const r = await model.estimate(new Uint8Array(64 * 36 * 3), 64, 36);
  t.same([r.width, r.height], [70, 42]);
});

t.test('models with the wrong signature are refused with a clear error', async (t) => {
  const fourChannels = new GraphBuilder();
  fourChannels.op('ReduceMean', ['x'], { axes: { ints: [1] }, keepdims: { i: 0 } });
  fourChannels.nodes[0]!.output = ['y'];
  const a = await tempModel(t, fourChannels.build(floatTensor('x', ['N', 4, 'H', 'W']), floatTensor('y', ['N', 'H', 'W']), 17, 'bad'));
  await t.rejects(loadDepthModel({ modelPath: a, executionProvider: 'cpu', inputHeight: 126 }), /3 channels/);

  const flat = new GraphBuilder();
  flat.op('ReduceMean', ['x'], { axes: { ints: [1, 2, 3] }, keepdims: { i: 0 } });
  flat.nodes[0]!.output = ['y'];
  const b = await tempModel(t, flat.build(floatTensor('x', ['N', 3, 'H', 'W']), floatTensor('y', ['N']), 17, 'bad'));
  await t.rejects(loadDepthModel({ modelPath: b, executionProvider: 'cpu', inputHeight: 126 }), /output must be a float32 \[N,H,W\]/);

  await t.rejects(loadDepthModel({ modelPath: '/nonexistent/model.onnx', executionProvider: 'cpu', inputHeight: 126 }), /ENOENT|no such file/);
});
