/**
 * What a depth network means, not just what it is. An ONNX file says its tensors' names, types and
 * shapes; it does not say whether its input wants ImageNet mean/std or plain 0…1, nor whether its
 * output is inverse depth (larger = nearer) or metres (larger = farther) — and guessing wrong turns
 * the 3D inside out. A spec says it, and comes from (first match wins):
 *   1. a sidecar beside the model: `{name}.json` for `{name}.onnx`, else `model.json` in its folder;
 *   2. a known file: the sha256 of a network we have checked (FastDepth 224);
 *   3. a known family's signature (a Depth-Anything-V2 export: `pixel_values` → `predicted_depth`);
 * and anything else is refused with a message that says what to declare and how.
 *
 * A sidecar may name only its family (`{"family": "depth-anything-v2"}`) and take that family's
 * defaults, or spell out every field; fields it gives override the family's.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** What the network's output means. */
export type OutputKind =
  /** Relative inverse depth / disparity: larger = nearer, scale and shift unknown (MiDaS, Depth-Anything). */
  | 'inverse-depth'
  /** Depth in metres (or any unit): larger = farther (FastDepth, metric heads). */
  | 'metric-depth';

/** How 8-bit RGB becomes the input's values. */
export type InputNormalisation =
  /** v / 255, then (· − mean) / std with ImageNet's mean and std. */
  | 'imagenet'
  /** v / 255: 0…1. */
  | 'unit'
  /** v / 127.5 − 1: −1…1. */
  | 'symmetric'
  /** v as is: 0…255. */
  | 'byte';

export interface ModelSpec {
  /** A known family's name, or `declared` for a sidecar that names none. */
  family: string;
  /** The weights' licence, as declared or known (shown at start-up). */
  licence: string;
  input: {
    layout: 'nchw' | 'nhwc';
    normalise: InputNormalisation;
    /** A fixed input size, or dynamic sizes that must be multiples of `multipleOf`. */
    size: { fixed: { width: number; height: number } } | { multipleOf: number };
  };
  output: { kind: OutputKind };
}

/** The families we know, with their defaults. */
export const FAMILIES: Record<string, Omit<ModelSpec, 'family'>> = {
  // Depth-Anything-V2 S/B/L exports (and Distill-Any-Depth, which keeps their contract).
  'depth-anything-v2': {
    licence: 'Apache-2.0 (Small); CC-BY-NC-4.0 (Base, Large) — check your file',
    input: { layout: 'nchw', normalise: 'imagenet', size: { multipleOf: 14 } },
    output: { kind: 'inverse-depth' },
  },
  'distill-any-depth': {
    licence: 'MIT — check your file',
    input: { layout: 'nchw', normalise: 'imagenet', size: { multipleOf: 14 } },
    output: { kind: 'inverse-depth' },
  },
  // MiDaS v2.1 small (the official 256×256 ONNX release).
  'midas-v2.1-small': {
    licence: 'MIT',
    input: { layout: 'nchw', normalise: 'imagenet', size: { fixed: { width: 256, height: 256 } } },
    output: { kind: 'inverse-depth' },
  },
  // FastDepth (MobileNet-NNConv5, NYU), 224×224, metres.
  fastdepth: {
    licence: 'MIT',
    input: { layout: 'nchw', normalise: 'unit', size: { fixed: { width: 224, height: 224 } } },
    output: { kind: 'metric-depth' },
  },
  // The estimator this project builds itself (model-builtin.ts).
  builtin: {
    licence: 'MIT (this project)',
    input: { layout: 'nchw', normalise: 'imagenet', size: { multipleOf: 14 } },
    output: { kind: 'inverse-depth' },
  },
};

/** Networks recognised by their file's sha256: ones whose contract we have checked against ground truth. */
const KNOWN_FILES: Record<string, string> = {
  // ../shared/models/fastdepth-224.onnx (see its README): FastDepth converted from the int8 TFLite release.
  e27c99f144e76683a00c9531ee236dadb159f27e0c1e939254b556d48b5343c9: 'fastdepth',
};

/** What the loaded graph says about itself (onnxruntime's metadata, simplified). */
export interface GraphSignature {
  inputName: string;
  inputType: string;
  inputShape: Array<number | string>;
  outputName: string;
  outputShape: Array<number | string>;
}

export class ModelSpecError extends Error {
  override name = 'ModelSpecError';
}

/** An example sidecar, for refusals: what a user should write. */
function sidecarExample(file: string): string {
  return (
    `${sidecarPaths(file)[0]} with e.g. {"family": "depth-anything-v2"} (known: ${Object.keys(FAMILIES)
      .filter((f) => f !== 'builtin')
      .join(', ')}), ` +
    'or in full: {"licence": "…", "input": {"layout": "nchw", "normalise": "imagenet|unit|symmetric|byte", ' +
    '"size": {"multipleOf": 14} or {"fixed": {"width": 224, "height": 224}}}, "output": {"kind": "inverse-depth|metric-depth"}}'
  );
}

/** Where a sidecar for `file` may be: `{name}.json`, then `model.json` beside it. */
export function sidecarPaths(file: string): string[] {
  const dir = path.dirname(file);
  return [path.join(dir, `${path.basename(file, path.extname(file))}.json`), path.join(dir, 'model.json')];
}

/** Checks and completes a sidecar's JSON; throws ModelSpecError naming the field. */
export function parseSidecar(value: unknown, where: string): ModelSpec {
  const fail = (message: string): never => {
    throw new ModelSpecError(`${where}: ${message}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must be a JSON object');
  const v = value as Record<string, unknown>;
  const family = v.family === undefined ? 'declared' : v.family;
  if (typeof family !== 'string' || (family !== 'declared' && !(family in FAMILIES))) {
    fail(`family must be one of ${Object.keys(FAMILIES).join(', ')} (or left out, with every field given)`);
  }
  const base = FAMILIES[family as string];
  const input = (v.input ?? {}) as Record<string, unknown>;
  const output = (v.output ?? {}) as Record<string, unknown>;
  if (typeof input !== 'object' || typeof output !== 'object') fail('input and output must be objects');
  const layout = input.layout ?? base?.input.layout;
  if (layout !== 'nchw' && layout !== 'nhwc') fail('input.layout must be "nchw" or "nhwc"');
  const normalise = input.normalise ?? base?.input.normalise;
  if (!['imagenet', 'unit', 'symmetric', 'byte'].includes(normalise as string))
    fail('input.normalise must be "imagenet", "unit", "symmetric" or "byte"');
  const size = (input.size ?? base?.input.size) as ModelSpec['input']['size'] | undefined;
  const positive = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 4096;
  if (!size || typeof size !== 'object') fail('input.size must be {"multipleOf": N} or {"fixed": {"width": W, "height": H}}');
  if ('multipleOf' in size! && !positive(size.multipleOf)) fail('input.size.multipleOf must be a positive integer');
  if ('fixed' in size! && !(positive(size.fixed?.width) && positive(size.fixed?.height)))
    fail('input.size.fixed needs positive integer width and height');
  if (!('multipleOf' in size!) && !('fixed' in size!)) fail('input.size must be {"multipleOf": N} or {"fixed": {"width": W, "height": H}}');
  const kind = output.kind ?? base?.output.kind;
  if (kind !== 'inverse-depth' && kind !== 'metric-depth')
    fail('output.kind must be "inverse-depth" (larger = nearer) or "metric-depth" (larger = farther)');
  const licence = v.licence ?? base?.licence;
  if (typeof licence !== 'string' || licence.trim() === '') fail("licence must name the weights' licence");
  return {
    family: family as string,
    licence: licence as string,
    input: { layout: layout as 'nchw' | 'nhwc', normalise: normalise as InputNormalisation, size: size! },
    output: { kind: kind as OutputKind },
  };
}

/**
 * The spec of the model in `file` (bytes `bytes`, graph `graph`): its sidecar, else a known file,
 * else a known family's signature; throws ModelSpecError saying what to declare otherwise.
 */
export function resolveSpec(file: string, bytes: Uint8Array, graph: GraphSignature): ModelSpec {
  for (const sidecar of sidecarPaths(file)) {
    if (!existsSync(sidecar)) continue;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(sidecar, 'utf8'));
    } catch (error) {
      throw new ModelSpecError(`${sidecar}: not JSON (${(error as Error).message})`);
    }
    return parseSidecar(json, sidecar);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  const known = KNOWN_FILES[digest];
  if (known) return { family: known, ...FAMILIES[known]! };
  // A Hugging Face / optimum export of Depth-Anything-V2 names its tensors so.
  if (
    graph.inputName === 'pixel_values' &&
    graph.outputName === 'predicted_depth' &&
    graph.inputShape.length === 4 &&
    graph.inputShape[1] === 3
  ) {
    return { family: 'depth-anything-v2', ...FAMILIES['depth-anything-v2']! };
  }
  const shape = (s: Array<number | string>) => `[${s.join(',')}]`;
  throw new ModelSpecError(
    `${file}: cannot tell what this network expects or returns (input '${graph.inputName}' ${graph.inputType} ${shape(graph.inputShape)}, ` +
      `output '${graph.outputName}' ${shape(graph.outputShape)}; sha256 ${digest.slice(0, 16)}…): whether its input is ImageNet-normalised ` +
      `and whether its output grows with nearness or with distance decide whether the 3D comes out or goes in. Declare it in ${sidecarExample(file)}`,
  );
}
