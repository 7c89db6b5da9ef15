/**
 * The built-in depth estimator: an ONNX graph built by our own code, so everything runs on a
 * fresh machine with no downloads. It has the signature of a Depth-Anything-V2 export
 * (input `[N,3,H,W]` float, ImageNet-normalised; output `[N,H,W]` relative inverse depth, larger =
 * nearer), so the rest of the pipeline cannot tell it from a real network.
 *
 * What it does — hand-set monocular cues, not learned weights:
 *   1. height in frame: lower in the picture is usually nearer (ground plane);
 *   2. local contrast: sharp, textured regions are usually the in-focus subject;
 *   3. aerial perspective: bluish, low-contrast haze is usually far away;
 * blended and smoothed heavily, at half resolution.
 * Limits, honestly: it has no notion of objects. Sky at the bottom, a flat wall, text on screen or a
 * close-up of a blurry face get the wrong depth; the result is a plausible, gentle "window" effect,
 * not real geometry. Load a real network with DEPTH_MODEL_PATH for that.
 */
import { GraphBuilder, floatTensor } from './onnx-graph.ts';

export const BUILTIN_OPSET = 17;

/** Cue weights (tuned by eye on test footage; see the module comment). */
const W_HEIGHT = 1.0;
const W_CONTRAST = 0.6;
const W_HAZE = 0.4;

/** Serialised ONNX model bytes of the built-in estimator (dynamic N, H, W; H and W even). */
export function buildBuiltinDepthModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = 'image';
  // Half resolution: every cue below is smooth anyway.
  const small = g.op('AveragePool', [x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
  // Luma of the normalised input (scale does not matter: every cue is normalised below).
  const luma = g.op('Conv', [small, g.floats([0.299, 0.587, 0.114], [1, 3, 1, 1])]);

  // 1. Height in frame: cumulative sum of ones down the rows, divided by the row count → 0 (top) … 1 (bottom).
  const ones = g.op('Add', [g.op('Mul', [luma, g.floats([0], [1])]), g.floats([1], [1])]);
  const rows = g.op('CumSum', [ones, g.ints([2], [])]);
  const rowCount = g.op('ReduceMax', [rows], { axes: { ints: [2] }, keepdims: { i: 1 } });
  const height = g.op('Div', [rows, rowCount]);

  // 2. Local contrast: |Laplacian| of luma, blurred, divided by its frame mean (→ ~1 on average).
  const lap = g.floats([0, -1, 0, -1, 4, -1, 0, -1, 0], [1, 1, 3, 3]);
  const edges = g.op('Abs', [g.op('Conv', [luma, lap], { pads: { ints: [1, 1, 1, 1] } })]);
  const texture = g.op('AveragePool', [edges], {
    kernel_shape: { ints: [7, 7] },
    strides: { ints: [1, 1] },
    pads: { ints: [3, 3, 3, 3] },
    count_include_pad: { i: 0 },
  });
  const textureMean = g.op('ReduceMean', [texture], { axes: { ints: [2, 3] }, keepdims: { i: 1 } });
  const contrast = g.op('Tanh', [g.op('Div', [texture, g.op('Add', [textureMean, g.floats([1e-3], [1])])])]);

  // 3. Haze: blue minus red, positive part (bluish = far).
  const blueMinusRed = g.op('Conv', [small, g.floats([-1, 0, 1], [1, 3, 1, 1])]);
  const haze = g.op('Relu', [blueMinusRed]);

  const blend = g.op('Sub', [
    g.op('Add', [g.op('Mul', [height, g.floats([W_HEIGHT], [1])]), g.op('Mul', [contrast, g.floats([W_CONTRAST], [1])])]),
    g.op('Mul', [haze, g.floats([W_HAZE], [1])]),
  ]);
  // Heavy smoothing so depth edges do not tear the warp.
  const smoothAttrs = {
    kernel_shape: { ints: [9, 9] },
    strides: { ints: [1, 1] },
    pads: { ints: [4, 4, 4, 4] },
    count_include_pad: { i: 0 },
  };
  const smooth = g.op('AveragePool', [g.op('AveragePool', [blend], smoothAttrs)], smoothAttrs);
  const full = g.op('Resize', [smooth, '', g.floats([1, 1, 2, 2], [4])], { mode: { s: 'linear' } });
  const out = g.op('Squeeze', [full, g.ints([1])]);
  // Rename the last node's output to the public name.
  g.nodes[g.nodes.length - 1]!.output = ['depth'];
  void out;
  return g.build(
    floatTensor('image', ['N', 3, 'H', 'W']),
    floatTensor('depth', ['N', 'H', 'W']),
    BUILTIN_OPSET,
    'stereospot-builtin-depth',
  );
}
