"""Trains the reference DCGAN recipe in PyTorch, for the parity table in the README: the same architecture as
src/gan/models.ts, DCGAN init (conv N(0, 0.02), batchnorm weight N(1, 0.02)), BCE with real label 0.9, Adam 2e-4
β (0.5, 0.999), batch 128, z in R^100, and GanTrainer.step's order (D on real and on G(z) detached, one D
update; G on a fresh z, one G update). Fashion-MNIST from its IDX files (.gz or not), pixels p/127.5 - 1, a
fresh shuffle each epoch and the last incomplete batch dropped, as atelier's Batcher. Writes G (trained
weights, batchnorm running statistics) as an atelier generator file that `npm run evaluate -- --checkpoint
FILE` and `npm run generate -- --checkpoint FILE` load.

  python3 bench/pytorch/train_reference.py --out runs/pytorch-reference/generator.safetensors
      [--data DIR] [--epochs 20] [--seed 0] [--threads N] [--save-every 10] [--limit N] [--max-steps N]
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
from dcgan import LATENT_DIM, Step, dcgan_init, discriminator, generator, state_tensors, write_safetensors

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
GENERATOR_FORMAT = "atelier-dcgan-generator/1"  # src/cli/export-generator.ts
BATCH = 128


def fail(message):
    """One line starting `error:`, exit status 1."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def read_idx_images(data_dir):
    """train-images-idx3-ubyte[.gz] from data_dir as uint8 [count, 28, 28]."""
    base = os.path.join(data_dir, "train-images-idx3-ubyte")
    path = next((p for p in (base, base + ".gz") if os.path.isfile(p)), None)
    if path is None:
        fail(f"--data {data_dir}: no {os.path.basename(base)} or {os.path.basename(base)}.gz there; pass the Fashion-MNIST folder")
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        fail(f"{path}: cannot be read ({e}); download it again")
    if len(raw) < 16:
        fail(f"{path}: {len(raw)} bytes, shorter than an IDX image header (16); the file is corrupt")
    magic, count, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 0x803 or (rows, cols) != (28, 28):
        fail(f"{path}: magic 0x{magic:x} and images {rows}×{cols}, not IDX uint8 images of 28×28 (magic 0x803); the file is not Fashion-MNIST images")
    if len(raw) != 16 + count * rows * cols:
        fail(f"{path}: {len(raw) - 16} bytes of pixels for {count} images of {rows}×{cols}; the file is truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)


def positive(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"wants a positive integer, got {text}")
    return n


def epoch_path(out, epoch):
    stem, ext = os.path.splitext(out)
    return f"{stem}-epoch_{epoch:03d}{ext or '.safetensors'}"


def save(path, G, metadata):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".partial"
    write_safetensors(tmp, state_tensors("generator.", G), metadata)
    os.replace(tmp, path)  # a crash never leaves half a file under the real name


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, metavar="FILE", help="the generator file to write (.safetensors)")
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR", help=f"Fashion-MNIST IDX files (default {DEFAULT_DATA})")
    p.add_argument("--epochs", type=positive, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=positive, default=os.cpu_count())
    p.add_argument("--save-every", type=positive, metavar="E", help="also write OUT's stem + -epoch_NNN every E epochs")
    p.add_argument("--limit", type=positive, metavar="N", help="only the first N training images (for a quick check)")
    p.add_argument("--max-steps", type=positive, metavar="N", help="stop after N steps (for a quick check)")
    a = p.parse_args()

    images = read_idx_images(a.data)
    if a.limit:
        images = images[: a.limit]
    if len(images) < BATCH:
        fail(f"--limit {a.limit}: {len(images)} images make no batch of {BATCH}; use at least {BATCH}")
    data = torch.from_numpy((images.astype(np.float64) / 127.5 - 1).astype(np.float32)).unsqueeze(1)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    G, D = generator(), discriminator()
    dcgan_init(G)
    dcgan_init(D)
    step = Step(G, D)
    shuffle = torch.Generator().manual_seed(a.seed)
    per_epoch = len(data) // BATCH
    total = per_epoch * a.epochs if a.max_steps is None else min(per_epoch * a.epochs, a.max_steps)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; {len(data)} images, {per_epoch} steps per epoch, {total} steps", flush=True)

    def metadata(steps, epochs_done):
        config = {"epochs": a.epochs, "batchSize": BATCH, "lrG": 2e-4, "lrD": 2e-4, "beta1": 0.5, "beta2": 0.999,
                  "latentDim": LATENT_DIM, "realLabel": 0.9, "loss": "bce", "seed": a.seed, "data": a.data}
        return {"format": GENERATOR_FORMAT, "weights": "trained", "step": str(steps), "epochs_done": str(epochs_done),
                "trained_with": f"PyTorch {torch.__version__} CPU, bench/pytorch/train_reference.py", "config": json.dumps(config)}

    steps, start = 0, time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(len(data), generator=shuffle)
        sums, done = np.zeros(4), 0
        for b in range(per_epoch):
            if steps == total:
                break
            sums += step(data[order[b * BATCH:(b + 1) * BATCH]])
            steps += 1
            done += 1
        m = sums / max(done, 1)
        print(f"epoch {epoch}: {done} steps, D loss {m[0]:.3f}, G loss {m[1]:.3f}, D(x) {m[2]:.3f}, D(G(z)) {m[3]:.3f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        if done == per_epoch and a.save_every and epoch % a.save_every == 0:
            save(epoch_path(a.out, epoch), G, metadata(steps, epoch))
        if steps == total:
            break
    save(a.out, G, metadata(steps, steps // per_epoch))
    print(f"wrote {a.out} ({steps} steps)")


if __name__ == "__main__":
    main()
