/**
 * What Keras 3 writes into a converted model.json that TensorFlow.js 4.22's loader does not read
 * (tfjs issues #8494, #8489), made into the Keras 2 form tfjs knows. Pure: JSON in, JSON out.
 *
 * Topology (tensorflowjs_converter's save_keras_model / --input_format keras / keras_keras):
 * - InputLayer `batch_shape` (Keras 2: `batch_input_shape`); `optional` dropped;
 * - `dtype` as a DTypePolicy object ({class_name: 'DTypePolicy', config: {name: 'float32'}});
 * - `module`, `registered_name`, `shared_object_id`, `build_config`, `compile_config` keys;
 * - activation 'silu' (Keras 3's name for swish; tfjs: 'swish');
 * - regularizers of class L1 or L2 (tfjs knows only L1L2: the same penalty with the other term 0);
 * - Functional nodes as {args: [{class_name: '__keras_tensor__', config: {keras_history}}], kwargs}
 *   (Keras 2: [[layer, node, tensor, kwargs]]), and `input_layers`/`output_layers` given flat
 *   (['x', 0, 0]) for a single input/output.
 * Weights (matchWeights below): names prefixed with the model's name ('sequential/dense/kernel'), or
 * the .keras file's layout ('layers/dense/vars/0', named after the layer's class, not its name),
 * plus the optimizer's state ('optimizer/vars/N'), which is skipped.
 */

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Dtype policies tfjs can follow: one plain dtype for variables and compute. */
const PLAIN_DTYPES = new Set(['float32', 'int32', 'bool']);
const DROPPED_KEYS = new Set(['module', 'registered_name', 'shared_object_id', 'build_config', 'compile_config']);

export interface Normalised {
  topology: Record<string, unknown>;
  /** What was changed, one short phrase each (for a note; empty for a Keras 2 / tfjs file). */
  changes: string[];
}

/** Thrown (as a plain Error) for something Keras 3 wrote that bstune cannot turn into a tfjs model. */
export class Keras3Unsupported extends Error {}

function layerName(v: Record<string, unknown>): string {
  const c = isObj(v.config) ? v.config : {};
  return typeof c.name === 'string' ? c.name : typeof v.name === 'string' ? v.name : String(v.class_name);
}

/** Keras 3 node {args, kwargs} → Keras 2 [[layer, nodeIndex, tensorIndex, kwargs], ...]. */
function convertNode(node: Record<string, unknown>, layer: string): unknown[] {
  const tensors: [string, number, number][] = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(collect);
    if (isObj(v) && v.class_name === '__keras_tensor__' && isObj(v.config) && Array.isArray(v.config.keras_history)) {
      const [name, nodeIndex, tensorIndex] = v.config.keras_history as [string, number, number];
      tensors.push([name, nodeIndex, tensorIndex]);
      return;
    }
    throw new Keras3Unsupported(`layer "${layer}" is called with a constant argument (${JSON.stringify(v).slice(0, 60)}), which TensorFlow.js layers do not take`);
  };
  collect(node.args ?? []);
  const kwargs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(isObj(node.kwargs) ? node.kwargs : {})) {
    if (JSON.stringify(v).includes('__keras_tensor__')) {
      throw new Keras3Unsupported(`layer "${layer}" is called with a tensor as keyword argument "${k}", which TensorFlow.js cannot load`);
    }
    if (v !== null) kwargs[k] = v; // Keras 3 writes mask: null for "no mask"
  }
  return tensors.map(([name, n, t]) => [name, n, t, kwargs]);
}

/** The topology (model_config) in the form tfjs 4.22 loads; throws Keras3Unsupported with one clear reason. */
export function normaliseKerasTopology(topology: Record<string, unknown>): Normalised {
  const changes = new Set<string>();
  const walk = (v: unknown, key: string | null, owner: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, null, owner));
    if (key === 'activation' && v === 'silu') {
      // Keras 3 writes swish as silu (the same x·sigmoid(x)); tfjs knows it as swish.
      changes.add('activation silu → swish');
      return 'swish';
    }
    if (!isObj(v)) return v;
    if (key !== null && key.endsWith('_regularizer') && (v.class_name === 'L1' || v.class_name === 'L2') && isObj(v.config)) {
      // Keras writes l1(x) / l2(x) as their own classes; tfjs registers only L1L2 (the same penalty with the other term 0).
      changes.add('L1/L2 regularizers → L1L2');
      const c = v.config;
      return { class_name: 'L1L2', config: { l1: v.class_name === 'L1' ? Number(c.l1 ?? 0.01) : 0, l2: v.class_name === 'L2' ? Number(c.l2 ?? 0.01) : 0 } };
    }
    if (key === 'dtype' && typeof v.class_name === 'string') {
      const name = isObj(v.config) ? v.config.name : undefined;
      if (v.class_name.endsWith('DTypePolicy') && typeof name === 'string' && PLAIN_DTYPES.has(name) && v.class_name !== 'QuantizedDTypePolicy') {
        changes.add('dtype policies → dtypes');
        return name;
      }
      throw new Keras3Unsupported(`layer "${owner}" uses the Keras dtype policy ${JSON.stringify(name ?? v.class_name)} (${v.class_name}); TensorFlow.js trains plain float32 layers only`);
    }
    const isLayer = typeof v.class_name === 'string' && isObj(v.config);
    const here = isLayer ? layerName(v) : owner;
    if (key === null && isLayer && v !== topology && ['Sequential', 'Functional', 'Model'].includes(v.class_name as string) && JSON.stringify(v.config).includes('"batch_shape"')) {
      // tfjs 4.22 builds a Keras 3 model nested in a model disconnected from its caller ("Graph disconnected").
      throw new Keras3Unsupported(`layer "${here}" is itself a model (${String(v.class_name)}); bstune loads Keras 3 models whose layers are plain layers: flatten it (call its layers directly) before converting`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (DROPPED_KEYS.has(k)) {
        changes.add(`${k} dropped`);
        continue;
      }
      out[k] = walk(x, k, here);
    }
    if (out.class_name === 'InputLayer' && isObj(out.config)) {
      const c = { ...out.config };
      if (c.batch_shape !== undefined && c.batch_input_shape === undefined) {
        c.batch_input_shape = c.batch_shape;
        delete c.batch_shape;
        changes.add('InputLayer batch_shape → batch_input_shape');
      }
      delete c.optional;
      out.config = c;
    }
    if (Array.isArray(out.inbound_nodes) && out.inbound_nodes.some((n) => isObj(n) && 'args' in n)) {
      out.inbound_nodes = out.inbound_nodes.map((n) => (isObj(n) ? convertNode(n, here) : n));
      changes.add('Functional nodes → Keras 2 node lists');
    }
    for (const k of ['input_layers', 'output_layers']) {
      const l = out[k];
      if (isLayer || !Array.isArray(l) || typeof l[0] !== 'string') continue;
      out[k] = [l];
      changes.add(`single ${k} wrapped in a list`);
    }
    return out;
  };
  const out = walk(topology, null, String(isObj(topology.config) ? topology.config.name : 'model')) as Record<string, unknown>;
  return { topology: out, changes: [...changes] };
}

export interface WeightSlot {
  name: string;
  shape: number[];
}

/** A layer of the built model as the matcher sees it: its name and class, its tfjs weights in order. */
export interface LayerSlots {
  name: string;
  className: string;
  weights: WeightSlot[];
}

export type WeightMatch = { ok: true; order: number[][]; skipped: string[]; how: string[] } | { ok: false; reason: string };

/** Keras's naming.to_snake_case, which names a layer's group in a .keras file. */
export function snakeCase(name: string): string {
  return name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: number[]) => `[${s.join(', ')}]`;
/** 'a/vars/2' before 'a/vars/10' (h5py lists groups alphabetically). */
const byPath = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * For each layer, for each of its weights, the index of the model.json manifest entry that holds it.
 * Per layer, first by name: as tfjs writes them ('dense/kernel') or under the model's name
 * ('sequential/dense/kernel', Keras 3 through save_keras_model). Else by position among the entries
 * filed under that layer, in Keras's order: '<model>/<layer>/…' (Keras 3 names some weights
 * otherwise than tfjs: DepthwiseConv2D 'kernel', LSTM 'lstm_cell/kernel') or the .keras layout
 * 'layers/<snake class>[_n]/…/vars/<i>' (numbered per class in layer order, as Keras saves them);
 * every shape must agree. Entries under 'optimizer/' are Keras's optimizer state: skipped. Anything
 * else left over, or a model weight with no entry or another shape, is a mismatch with one reason.
 */
export function matchWeights(file: WeightSlot[], layers: LayerSlots[], modelName: string | undefined): WeightMatch {
  const skipped = file.filter((w) => w.name.startsWith('optimizer/')).map((w) => w.name);
  const index = new Map(file.map((w, i) => [w.name, i]));
  const used = new Set<number>();
  const how = new Set<string>();
  const kerasPaths = new Map<string, number>();
  const order: number[][] = [];
  for (const l of layers) {
    // The .keras group of this layer: counted for every layer, weights or not, as Keras does.
    const base = snakeCase(l.className);
    const n = kerasPaths.get(base);
    kerasPaths.set(base, n === undefined ? 0 : n + 1);
    const kerasPath = n === undefined ? `layers/${base}/` : `layers/${base}_${n + 1}/`;
    if (l.weights.length === 0) {
      order.push([]);
      continue;
    }
    const named = (prefix: string) => l.weights.map((w) => index.get(prefix + w.name));
    let row: number[] | null = null;
    for (const [prefix, label] of [['', 'by name'], [modelName === undefined ? null : `${modelName}/`, 'by name under the model name']] as const) {
      if (prefix === null) continue;
      const got = named(prefix);
      if (got.every((i) => i !== undefined && !used.has(i)) && got.every((i, k) => sameShape(file[i!]!.shape, l.weights[k]!.shape))) {
        row = got as number[];
        how.add(label);
        break;
      }
    }
    if (row === null) {
      const prefixes = [`${l.name}/`, ...(modelName === undefined ? [] : [`${modelName}/${l.name}/`]), kerasPath];
      const group = file.map((w, i) => ({ w, i })).filter(({ w, i }) => !used.has(i) && prefixes.some((p) => w.name.startsWith(p)));
      if (group.length === 0) return { ok: false, reason: `model.json has no weight for ${l.weights[0]!.name} ${fmt(l.weights[0]!.shape)}` };
      const dotKeras = group.every(({ w }) => w.name.startsWith(kerasPath));
      if (dotKeras) {
        // The converter lists a .keras file's groups alphabetically: within one vars/ folder the
        // numbers give Keras's order; across folders (a Bidirectional's backward_layer and
        // forward_layer) nothing does, and same-shaped weights could land swapped.
        const folders = new Set(group.map(({ w }) => w.name.replace(/\/vars\/\d+$/, '')));
        // A Bidirectional wrapper: tfjs keeps the forward layer's weights first, as Keras does.
        const fb = (name: string) => name.replace(`${kerasPath}forward_layer/`, `${kerasPath}0/`).replace(`${kerasPath}backward_layer/`, `${kerasPath}1/`);
        const bidirectional = folders.size === 2 && [...folders].every((f) => /^(forward|backward)_layer\//.test(f.slice(kerasPath.length)));
        if (folders.size > 1 && !bidirectional) {
          return { ok: false, reason: `layer ${l.name}'s weights sit in ${folders.size} groups of the .keras file (${[...folders].join(', ')}), whose order bstune cannot tell; convert the model with save_keras_model instead` };
        }
        group.sort((a, b) => byPath(fb(a.w.name), fb(b.w.name)));
      }
      // Else (names under '<model>/<layer>/'): the converter keeps Keras's order within a layer.
      if (group.length !== l.weights.length) {
        return { ok: false, reason: `model.json has ${group.length} weight(s) for layer ${l.name} (${group.map(({ w }) => `${w.name} ${fmt(w.shape)}`).join(', ')}) but the model's ${l.className} has ${l.weights.length} (${l.weights.map((w) => `${w.name} ${fmt(w.shape)}`).join(', ')})` };
      }
      for (const [k, { w }] of group.entries()) {
        if (!sameShape(w.shape, l.weights[k]!.shape)) return { ok: false, reason: `model.json weight ${w.name} has shape ${fmt(w.shape)} but the model's ${l.weights[k]!.name} is ${fmt(l.weights[k]!.shape)}` };
      }
      row = group.map(({ i }) => i);
      how.add(dotKeras ? 'in .keras order' : 'by position within the layer');
    }
    row.forEach((i) => used.add(i));
    order.push(row);
  }
  const extra = file.filter((w, i) => !used.has(i) && !w.name.startsWith('optimizer/'));
  if (extra.length > 0) {
    return { ok: false, reason: `model.json has ${extra.length} weight(s) the model does not use (${extra.slice(0, 3).map((w) => `${w.name} ${fmt(w.shape)}`).join(', ')}${extra.length > 3 ? ', …' : ''})` };
  }
  return { ok: true, order, skipped, how: [...how] };
}
