// Writes a tiny real ONNX model with the MiniLM interface but another output width, to test the
// dimension check end to end (python3-onnx is not installed here, so the protobuf is encoded by hand).
// Graph: last_hidden_state[b, s, d] = float(input_ids)[b, s, 1] * scale[d]  (opset 17, IR 8).

// Protobuf wire types.
const VARINT = 0;
const BYTES = 2;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const key = (field: number, wire: typeof VARINT | typeof BYTES) => varint((field << 3) | wire);
const int = (field: number, n: number) => [...key(field, VARINT), ...varint(n)];
const bytes = (field: number, data: Uint8Array | number[]) => [...key(field, BYTES), ...varint(data.length), ...data];
const text = (field: number, s: string) => bytes(field, [...Buffer.from(s, 'utf8')]);
const msg = (field: number, ...parts: number[][]) => bytes(field, parts.flat());

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;

function valueInfo(field: number, name: string, elemType: number, dims: (string | number)[]): number[] {
  const dimMsgs = dims.map((d) => msg(1, typeof d === 'number' ? int(1, d) : text(2, d)));
  return msg(field, text(1, name), msg(2, msg(1, int(1, elemType), msg(2, ...dimMsgs))));
}

function node(op: string, inputs: string[], outputs: string[], attrs: number[][] = []): number[] {
  return msg(1, ...inputs.map((i) => text(1, i)), ...outputs.map((o) => text(2, o)), text(3, `${op}_node`), text(4, op), ...attrs);
}

function tensor(name: string, dataType: number, dims: number[], raw: Buffer): number[] {
  return msg(5, ...dims.map((d) => int(1, d)), int(2, dataType), text(8, name), bytes(9, raw));
}

/** ONNX bytes of a feature-extraction model whose hidden size is `dimension`. */
export function tinyOnnxModel(dimension: number): Uint8Array {
  const scale = Buffer.alloc(4 * dimension);
  for (let i = 0; i < dimension; i++) scale.writeFloatLE((i + 1) / dimension, 4 * i);
  const axes = Buffer.alloc(8);
  axes.writeBigInt64LE(2n);
  const io = ['batch_size', 'sequence_length'];
  const graph = msg(
    7,
    node('Cast', ['input_ids'], ['ids_float'], [msg(5, text(1, 'to'), int(3, FLOAT), int(20, ATTR_INT))]),
    node('Unsqueeze', ['ids_float', 'axes'], ['ids_column']),
    node('Mul', ['ids_column', 'scale'], ['last_hidden_state']),
    text(2, 'tiny_feature_extractor'),
    tensor('scale', FLOAT, [dimension], scale),
    tensor('axes', INT64, [1], axes),
    valueInfo(11, 'input_ids', INT64, io),
    valueInfo(11, 'attention_mask', INT64, io),
    valueInfo(11, 'token_type_ids', INT64, io),
    valueInfo(12, 'last_hidden_state', FLOAT, [...io, dimension]),
  );
  return Uint8Array.from([...int(1, 8), ...text(2, 'aqe-test'), ...graph, ...msg(8, text(1, ''), int(2, 17))]);
}
