import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { fromHalf, loadDepthModel, toHalf } from '../model.ts';
import { GraphBuilder, floatTensor, tensorInfo } from '../onnx-graph.ts';

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

/** Writes `bytes` as `{name}.onnx` in a folder of its own, with `sidecar` as `{name}.json` when given. */
async function tempModel(t: Test, bytes: Uint8Array, sidecar?: unknown, name = 'model'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-model-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, `${name}.onnx`);
  await writeFile(file, bytes);
  if (sidecar !== undefined) await writeFile(path.join(dir, `${name}.json`), JSON.stringify(sidecar));
  return file;
}

/** A declared spec for test graphs: ImageNet input, inverse depth out. */
const DECLARED = {
  licence: 'test',
  input: { layout: 'nchw', normalise: 'imagenet', size: { multipleOf: 14 } },
  output: { kind: 'inverse-depth' },
};

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
  const file = await tempModel(
    t,
    g.build(
      floatTensor('pixel_values', ['batch', 3, 'height', 'width']),
      floatTensor('predicted_depth', ['batch', 1, 'height', 'width']),
      17,
      'tiny',
    ),
  );
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
  const file = await tempModel(t, g.build(floatTensor('x', [1, 3, 42, 70]), floatTensor('y', [1, 42, 70]), 17, 'fixed'), DECLARED);
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
  const a = await tempModel(
    t,
    fourChannels.build(floatTensor('x', ['N', 4, 'H', 'W']), floatTensor('y', ['N', 'H', 'W']), 17, 'bad'),
    DECLARED,
  );
  await t.rejects(loadDepthModel({ modelPath: a, executionProvider: 'cpu', inputHeight: 126 }), /3 channels/);

  const flat = new GraphBuilder();
  flat.op('ReduceMean', ['x'], { axes: { ints: [1, 2, 3] }, keepdims: { i: 0 } });
  flat.nodes[0]!.output = ['y'];
  const b = await tempModel(t, flat.build(floatTensor('x', ['N', 3, 'H', 'W']), floatTensor('y', ['N']), 17, 'bad'), DECLARED);
  await t.rejects(
    loadDepthModel({ modelPath: b, executionProvider: 'cpu', inputHeight: 126 }),
    /output must be a float32 or float16 \[N,H,W\]/,
  );

  await t.rejects(
    loadDepthModel({ modelPath: '/nonexistent/model.onnx', executionProvider: 'cpu', inputHeight: 126 }),
    /ENOENT|no such file/,
  );
});

/** A graph `x` → `y` whose output is the input's channel mean (NCHW) or its last-axis mean (NHWC). */
function meanGraph(input: Array<number | string>, layout: 'nchw' | 'nhwc' = 'nchw', names: [string, string] = ['x', 'y']): Uint8Array {
  const g = new GraphBuilder();
  g.op('ReduceMean', [names[0]], { axes: { ints: [layout === 'nchw' ? 1 : 3] }, keepdims: { i: 0 } });
  g.nodes[0]!.output = [names[1]];
  const out = layout === 'nchw' ? [input[0]!, input[2]!, input[3]!] : [input[0]!, input[1]!, input[2]!];
  return g.build(floatTensor(names[0], input), floatTensor(names[1], out), 17, 'mean');
}

t.test('a network nobody described is refused, saying what to declare and where', async (t) => {
  const file = await tempModel(t, meanGraph(['N', 3, 'H', 'W']));
  const error = await loadDepthModel({ modelPath: file, executionProvider: 'cpu', inputHeight: 56 }).then(
    () => null,
    (e: Error) => e,
  );
  t.ok(error, 'refused');
  t.equal(error?.name, 'ModelSpecError');
  t.match(error?.message, /cannot tell what this network expects or returns/);
  t.match(error?.message, /input 'x' float32 \[N,3,H,W\], output 'y' \[N,H,W\]/, 'naming what the graph says');
  t.match(
    error?.message,
    new RegExp(`Declare it in ${file.replace(/\.onnx$/, '.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    'and the sidecar to write',
  );
  t.match(error?.message, /"family": "depth-anything-v2"/);
});

t.test('each family is recognised or declared, and its contract is applied', async (t) => {
  const white = new Uint8Array(28 * 28 * 3).fill(255);
  const run = async (file: string, frame = white, size = 28) => {
    const model = await loadDepthModel({ modelPath: file, executionProvider: 'cpu', inputHeight: 28 });
    t.teardown(() => model.close());
    return { model, out: await model.estimate(frame, size, size) };
  };
  // Depth-Anything-V2 (Hugging Face export names): recognised by its signature alone.
  const da = await run(await tempModel(t, meanGraph(['batch', 3, 'height', 'width'], 'nchw', ['pixel_values', 'predicted_depth'])));
  t.equal(da.model.spec.family, 'depth-anything-v2');
  t.same(da.model.inputSize(1280, 720), { width: 56, height: 28 }, 'dynamic: multiples of 14');
  // Declared by family name only: the family's defaults.
  const midas = await run(await tempModel(t, meanGraph([1, 3, 256, 256]), { family: 'midas-v2.1-small' }));
  t.equal(midas.model.spec.family, 'midas-v2.1-small');
  t.same(midas.model.inputSize(640, 360), { width: 256, height: 256 }, 'its fixed 256x256, squashed');
  t.ok(Math.abs(midas.out.depth[0]! - ((1 - 0.485) / 0.229 + (1 - 0.456) / 0.224 + (1 - 0.406) / 0.225) / 3) < 1e-4, 'ImageNet-normalised');
  // Declared in full: 0…1 input, NHWC, metric output (inverted: larger = nearer).
  const metric = await run(
    await tempModel(t, meanGraph([1, 28, 28, 3], 'nhwc'), {
      licence: 'MIT',
      input: { layout: 'nhwc', normalise: 'unit', size: { fixed: { width: 28, height: 28 } } },
      output: { kind: 'metric-depth' },
    }),
  );
  t.equal(metric.model.spec.output.kind, 'metric-depth');
  t.ok(Math.abs(metric.out.depth[0]! - 1 / 1) < 1e-6, 'white at 0…1 is "1 m", returned as inverse depth 1');
  const grey = new Uint8Array(28 * 28 * 3).fill(51);
  const far = await metric.model.estimate(grey, 28, 28);
  t.ok(Math.abs(far.depth[0]! - 1 / 0.2) < 1e-4, 'a smaller metric depth is a larger inverse depth (0.2 m → 5)');
  // −1…1 and 0…255 inputs.
  const symmetric = await run(
    await tempModel(t, meanGraph([1, 3, 28, 28]), {
      ...DECLARED,
      input: { layout: 'nchw', normalise: 'symmetric', size: { multipleOf: 1 } },
    }),
  );
  t.ok(Math.abs(symmetric.out.depth[0]! - 1) < 1e-6, 'white at −1…1 is 1');
  const bytes = await run(
    await tempModel(t, meanGraph([1, 3, 28, 28]), { ...DECLARED, input: { layout: 'nchw', normalise: 'byte', size: { multipleOf: 1 } } }),
  );
  t.ok(Math.abs(bytes.out.depth[0]! - 255) < 1e-6, 'white at 0…255 is 255');
});

t.test('a sidecar is checked: each bad field named', async (t) => {
  const graph = meanGraph([1, 3, 28, 28]);
  const cases: Array<[unknown, RegExp]> = [
    [{ family: 'depth-everything' }, /family must be one of/],
    [
      { licence: 'x', input: { layout: 'chw', normalise: 'unit', size: { multipleOf: 1 } }, output: { kind: 'metric-depth' } },
      /input.layout must be/,
    ],
    [
      { licence: 'x', input: { layout: 'nchw', normalise: 'zscore', size: { multipleOf: 1 } }, output: { kind: 'metric-depth' } },
      /input.normalise must be/,
    ],
    [
      { licence: 'x', input: { layout: 'nchw', normalise: 'unit', size: { multipleOf: 0 } }, output: { kind: 'metric-depth' } },
      /multipleOf must be a positive integer/,
    ],
    [
      { licence: 'x', input: { layout: 'nchw', normalise: 'unit', size: { multipleOf: 1 } }, output: { kind: 'depth' } },
      /output.kind must be "inverse-depth"/,
    ],
    [{ input: { layout: 'nchw', normalise: 'unit', size: { multipleOf: 1 } }, output: { kind: 'metric-depth' } }, /licence must name/],
    [{ family: 'fastdepth' }, /declared input size 224x224 differs from the graph's 28x28/],
  ];
  for (const [sidecar, expected] of cases) {
    const file = await tempModel(t, graph, sidecar);
    await t.rejects(
      loadDepthModel({ modelPath: file, executionProvider: 'cpu', inputHeight: 28 }),
      { name: 'ModelSpecError', message: expected },
      JSON.stringify(sidecar).slice(0, 60),
    );
  }
});

t.test('half floats: the conversion is exact where half precision can be', async (t) => {
  for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, 0.333251953125]) t.equal(fromHalf(toHalf(v)), v, `${v} round-trips`);
  t.equal(fromHalf(toHalf(1 / 3)), 0.333251953125, '1/3 rounds to the nearest half');
  t.equal(fromHalf(toHalf(1e6)), Infinity, 'beyond 65504: infinity');
  t.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  t.equal(fromHalf(toHalf(1e-9)), 0, 'below the smallest subnormal: zero');
  // Every half pattern that is a number comes back to itself.
  let wrong = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    const v = fromHalf(bits);
    if (!Number.isNaN(v) && toHalf(v) !== bits) wrong++;
  }
  t.equal(wrong, 0, 'all 63,488 finite and infinite half values round-trip');
});

t.test('an fp16 network (half-float input and output) is fed and read as such', async (t) => {
  // float16 in → Cast → the mean of the channels → Cast → float16 out: the same as its fp32 twin.
  const g = new GraphBuilder();
  const wide = g.op('Cast', ['image'], { to: { i: 1 } });
  const mean = g.op('ReduceMean', [wide], { axes: { ints: [1] }, keepdims: { i: 1 } });
  g.op('Cast', [mean], { to: { i: 10 } });
  g.nodes[g.nodes.length - 1]!.output = ['depth'];
  const bytes = g.build(
    tensorInfo('image', [1, 3, 'H', 'W'], 'float16'),
    tensorInfo('depth', [1, 1, 'H', 'W'], 'float16'),
    17,
    'fp16-mean',
  );
  const model = await loadDepthModel({ modelPath: await tempModel(t, bytes, DECLARED), executionProvider: 'cpu', inputHeight: 28 });
  t.teardown(() => model.close());
  const frame = testFrame(28, 28);
  const { depth, width, height } = await model.estimate(frame, 28, 28);
  t.same([width, height], [28, 28]);
  t.type(depth, Float32Array, 'returned as float32, like every network');
  // Expected: ImageNet-normalised channels' mean, at half precision.
  const expected = (v: number) => ((v / 255 - 0.485) / 0.229 + (v / 255 - 0.456) / 0.224 + (v / 255 - 0.406) / 0.225) / 3;
  let worst = 0;
  for (let i = 0; i < 28 * 28; i++) worst = Math.max(worst, Math.abs(depth[i]! - expected(frame[i * 3]!)));
  t.ok(worst < 5e-3, `within half precision of the fp32 result (worst ${worst.toExponential(1)})`);
});

t.test('several frames in one run: the same maps as one at a time; a graph of batch 1 runs them in turn', async (t) => {
  const frames = [testFrame(64, 36), testFrame(64, 36).map((v) => 255 - v), new Uint8Array(64 * 36 * 3).fill(90)];
  const builtin = await loadDepthModel({ modelPath: null, executionProvider: 'cpu', inputHeight: 28 });
  t.teardown(() => builtin.close());
  t.ok(builtin.batched, 'the built-in graph has a free batch dimension');
  const fixed = await loadDepthModel({
    modelPath: await tempModel(t, meanGraph([1, 3, 28, 28]), DECLARED),
    executionProvider: 'cpu',
    inputHeight: 28,
  });
  t.teardown(() => fixed.close());
  t.notOk(fixed.batched, 'a [1,3,28,28] graph does not');
  for (const model of [builtin, fixed]) {
    const together = await model.estimateBatch(frames, 64, 36);
    t.equal(together.length, 3);
    for (let i = 0; i < frames.length; i++) {
      const alone = await model.estimate(frames[i]!, 64, 36);
      const worst = Math.max(...Array.from(alone.depth, (v, k) => Math.abs(v - together[i]!.depth[k]!)));
      t.ok(
        worst < 1e-5 && together[i]!.width === alone.width,
        `${model.batched ? 'batched' : 'in turn'}: frame ${i} the same (${worst.toExponential(1)})`,
      );
    }
  }
});
