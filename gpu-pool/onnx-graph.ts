/**
 * A small helper for writing ONNX graphs by hand with `onnx-proto`.
 * Float attributes are typed explicitly: in JavaScript `1.0` is an integer.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INodeProto = import('onnx-proto').onnx.INodeProto;
type IAttributeProto = import('onnx-proto').onnx.IAttributeProto;
type ITensorProto = import('onnx-proto').onnx.ITensorProto;
type IValueInfoProto = import('onnx-proto').onnx.IValueInfoProto;

export type Attr = { f: number } | { i: number } | { ints: number[] } | { floats: number[] } | { s: string };

function attribute(name: string, value: Attr): IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if ('f' in value) return { name, type: A.FLOAT, f: value.f };
  if ('i' in value) return { name, type: A.INT, i: value.i };
  if ('ints' in value) return { name, type: A.INTS, ints: value.ints };
  if ('floats' in value) return { name, type: A.FLOATS, floats: value.floats };
  return { name, type: A.STRING, s: Buffer.from(value.s) };
}

export class GraphBuilder {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  #n = 0;

  /** Adds a node; returns its (single) output name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const out = `${opType.toLowerCase()}_${this.#n++}`;
    this.nodes.push({
      opType,
      input: inputs,
      output: [out],
      name: out,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** A float32 constant of the given shape. */
  floats(values: number[], dims: number[]): string {
    const name = `const_${this.#n++}`;
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims, floatData: values });
    return name;
  }

  ints(values: number[], dims: number[] = [values.length]): string {
    const name = `const_${this.#n++}`;
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.INT64, dims, int64Data: values });
    return name;
  }

  /** Serialises a model with one input and one output. */
  build(input: IValueInfoProto, output: IValueInfoProto, opset: number, name: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'stereospot-live',
      opsetImport: [{ domain: '', version: opset }],
      graph: { name, node: this.nodes, initializer: this.initializers, input: [input], output: [output] },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** A float tensor value-info; strings are symbolic dims, numbers fixed ones. */
export function floatTensor(name: string, dims: Array<string | number>): IValueInfoProto {
  return tensorInfo(name, dims, 'float');
}

/** A tensor value-info of the given element type. */
export function tensorInfo(name: string, dims: Array<string | number>, type: 'float' | 'float16' | 'uint8'): IValueInfoProto {
  const T = onnx.TensorProto.DataType;
  return {
    name,
    type: {
      tensorType: {
        elemType: type === 'float' ? T.FLOAT : type === 'float16' ? T.FLOAT16 : T.UINT8,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}
