/**
 * A deliberately heavy depth network for benchmarks and tests of the depth rate: the built-in
 * estimator's graph (so its depth is the built-in's, to within a millionth) plus a stack of dense 3×3
 * convolutions over the whole input whose result is added at a weight of 1e-6 — as much arithmetic
 * per frame as a real network ten times FastDepth's size, and nothing onnxruntime can optimise away.
 * Written beside a sidecar (`{name}.json`) that declares it, as a user would for any network.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { buildBuiltinDepthModel } from '../gpu-pool/index.ts';

const { onnx } = onnxProto;

export interface HeavyModelOptions {
  /** Channels of each convolution (default 32: with 5 layers ≈ 105 ms per 448×252 input on one core here). */
  channels?: number;
  /** 3×3 convolutions after the first (default 5). */
  layers?: number;
}

/** The heavy graph's bytes. */
export function buildHeavyDepthModel(options: HeavyModelOptions = {}): Uint8Array {
  const channels = options.channels ?? 32;
  const layers = options.layers ?? 5;
  const model = onnx.ModelProto.decode(buildBuiltinDepthModel());
  const graph = model.graph!;
  const squeeze = graph.node![graph.node!.length - 1]!;
  // Deterministic pseudo-random weights (a fixed LCG): the same graph every time.
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.2;
  const weights = (name: string, dims: number[]) => {
    const count = dims.reduce((a, b) => a * b, 1);
    graph.initializer!.push({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims, floatData: Array.from({ length: count }, random) });
    return name;
  };
  const nodes: Array<import('onnx-proto').onnx.INodeProto> = [];
  const op = (opType: string, input: string[], output: string, attribute: Array<import('onnx-proto').onnx.IAttributeProto> = []) => {
    nodes.push({ opType, input, output: [output], name: output, attribute });
    return output;
  };
  const ints = (name: string, values: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
  const pads = [ints('pads', [1, 1, 1, 1])];
  let x = op('Conv', ['image', weights('heavy_w0', [channels, 3, 3, 3])], 'heavy_0', pads);
  for (let i = 1; i <= layers; i++) {
    x = op('Relu', [op('Conv', [x, weights(`heavy_w${i}`, [channels, channels, 3, 3])], `heavy_conv_${i}`, pads)], `heavy_${i}`);
  }
  const mean = op('ReduceMean', [x], 'heavy_mean', [
    ints('axes', [1, 2, 3]),
    { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
  ]);
  const tiny = op('Mul', [mean, weights('heavy_weight', [1])], 'heavy_tiny');
  graph.initializer![graph.initializer!.length - 1]!.floatData = [1e-6];
  const sum = op('Add', [squeeze.input![0]!, tiny], 'heavy_sum');
  squeeze.input![0] = sum;
  graph.node!.splice(graph.node!.length - 1, 0, ...nodes);
  graph.name = 'stereospot-heavy-test-depth';
  return onnx.ModelProto.encode(model).finish();
}

/** Writes `{dir}/heavy.onnx` and its sidecar; returns the model's path. */
export async function writeHeavyModel(dir: string, options: HeavyModelOptions = {}): Promise<string> {
  const file = path.join(dir, 'heavy.onnx');
  await writeFile(file, buildHeavyDepthModel(options));
  await writeFile(
    path.join(dir, 'heavy.json'),
    JSON.stringify({
      licence: 'MIT (a test graph of this project: the built-in estimator plus dead weight)',
      input: { layout: 'nchw', normalise: 'imagenet', size: { multipleOf: 14 } },
      output: { kind: 'inverse-depth' },
    }),
  );
  return file;
}
