"""Why a conditional DCGAN's G takes its class through conditional batchnorm: the reference recipe (DCGAN init, BCE
with real label 0.9, Adam 2e-4 β (0.5, 0.999), batch 128, GanTrainer.step's order) on the class-conditional DCGAN
with a projection D (Miyato & Koyama 2018), with G taking the class either as a 50-wide embedding concatenated to z
(`--generator concat`, atelier's first build) or through conditional batchnorm (`--generator batchnorm`, what
`--conditional` builds now), whose per-class β rows start N(0, --beta-std) (atelier: 1). After the steps it prints,
for each class, the mean pairwise L2 distance of 200 generated images of that class divided by that of 200 real
training images of the class: near 0 is one image per class, 1 is as varied as the data's class, and above 1
usually means G ignores the class (each "class" as varied as the whole set). `--out FILE` also writes G as an
atelier generator file, so that `npm run evaluate -- --checkpoint FILE` scores it (recall, conditional accuracy).

  python3 bench/pytorch/conditional_diversity.py --generator concat|batchnorm [--beta-std 1] [--steps 936]
      [--seed 0] [--threads N] [--data DIR] [--out FILE]
"""
import json
import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.dont_write_bytecode = True
from dcgan import BETAS, LR, REAL_LABEL, dcgan_init, write_safetensors
from conditional import CLASSES, LATENT, read_idx, Generator, ProjectionDiscriminator, atelier_spec, atelier_tensors, train_step

BATCH = 128


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generator", choices=["concat", "batchnorm"], required=True)
    p.add_argument("--beta-std", type=float, default=1.0, help="conditional batchnorm's β rows start N(0, this)")
    p.add_argument("--steps", type=int, default=936, help="training steps (468 are one epoch)")
    p.add_argument("--out", metavar="FILE", help="also write G as an atelier generator file (.safetensors)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    images = read_idx(a.data, "train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(read_idx(a.data, "train-labels-idx1-ubyte", 8).astype(np.int64))
    data = torch.from_numpy(images.astype(np.float32) / 127.5 - 1)

    G, D = Generator(a.generator, a.beta_std), ProjectionDiscriminator()
    dcgan_init(G)  # the conditional batchnorm's γ and β keep their own init
    dcgan_init(D)
    nn.init.xavier_uniform_(D.projection.weight)
    opt_g = torch.optim.Adam(G.parameters(), LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), LR, betas=BETAS)
    step, start = 0, time.perf_counter()
    while step < a.steps:
        order = torch.randperm(len(data))
        for b in range(len(data) // BATCH):
            if step == a.steps:
                break
            index = order[b * BATCH:(b + 1) * BATCH]
            loss_d, loss_g, _ = train_step(G, D, opt_g, opt_d, data[index], labels[index])
            step += 1
            if step % 100 == 0:
                print(f"step {step}: D loss {loss_d:.3f}, G loss {loss_g:.3f}, {time.perf_counter() - start:.0f} s", flush=True)

    G.eval()
    ratios = []
    with torch.no_grad():
        for c in range(CLASSES):
            fake = G(torch.randn(200, LATENT, 1, 1), torch.full((200,), c)).flatten(1)
            real = data[(labels == c).nonzero()[:200, 0]].flatten(1)
            ratios.append((torch.cdist(fake, fake).mean() / torch.cdist(real, real).mean()).item())
    what = a.generator + (f" (β N(0, {a.beta_std:g}))" if a.generator == "batchnorm" else "")
    print(f"{what}, {step} steps, seed {a.seed}: within-class diversity / real's, per class "
          f"{' '.join(f'{r:.2f}' for r in ratios)}; mean {np.mean(ratios):.3f}")
    if a.out:
        write_safetensors(a.out, atelier_tensors(G), {
            "format": "atelier-dcgan-generator/1", "weights": "trained", "step": str(step),
            "epochs_done": str(step // (len(data) // BATCH)), "model": json.dumps(atelier_spec(a.generator)),
            "config": json.dumps({"epochs": 20, "batchSize": BATCH, "lrG": LR, "lrD": LR, "beta1": BETAS[0], "beta2": BETAS[1],
                                  "latentDim": LATENT, "realLabel": REAL_LABEL, "loss": "bce", "seed": a.seed, "conditional": True}),
            "trained_with": f"PyTorch {torch.__version__} CPU, bench/pytorch/conditional_diversity.py"})
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
