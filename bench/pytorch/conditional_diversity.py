"""Why a conditional DCGAN's G takes its class through conditional batchnorm: the reference recipe (DCGAN init, BCE
with real label 0.9, Adam 2e-4 β (0.5, 0.999), batch 128, GanTrainer.step's order) on the class-conditional DCGAN
with a projection D (Miyato & Koyama 2018), with G taking the class either as a 50-wide embedding concatenated to z
(`--generator concat`, atelier's first build) or through conditional batchnorm (`--generator batchnorm`, what
`--conditional` builds now). After the steps it prints, for each class, the mean pairwise L2 distance of 200
generated images of that class divided by that of 200 real training images of the class (1 = as varied as the
data; near 0 = one image per class), and their mean.

  python3 bench/pytorch/conditional_diversity.py --generator concat|batchnorm [--steps 936] [--seed 0]
      [--threads N] [--data DIR]
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
from dcgan import BETAS, LR, REAL_LABEL, bce, dcgan_init

CLASSES, LATENT, EMBEDDING, BATCH = 10, 100, 50, 128


def read_idx(data_dir, name, offset):
    for path in (os.path.join(data_dir, name), os.path.join(data_dir, name + ".gz")):
        if os.path.isfile(path):
            with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
                return np.frombuffer(f.read(), np.uint8, offset=offset)
    print(f"error: --data {data_dir}: no {name} or {name}.gz there; pass the Fashion-MNIST folder", file=sys.stderr)
    sys.exit(1)


class ConditionalBatchNorm2d(nn.Module):
    """Batchnorm without its own affine, then each image's class's γ (initially N(1, 0.02)) and β (0)."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.weight = nn.Parameter(torch.normal(1.0, 0.02, (CLASSES, channels)))
        self.bias = nn.Parameter(torch.zeros(CLASSES, channels))

    def forward(self, x, y):
        return self.norm(x) * self.weight[y][:, :, None, None] + self.bias[y][:, :, None, None]


class Generator(nn.Module):
    """atelier's dcgan G (src/gan/models.ts), class-conditional either way."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        extra = EMBEDDING if how == "concat" else 0
        self.embedding = nn.Embedding(CLASSES, EMBEDDING) if how == "concat" else None
        self.up0 = nn.ConvTranspose2d(LATENT + extra, 128, 7, 1, 0, bias=False)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False)
        norm = ConditionalBatchNorm2d if how == "batchnorm" else nn.BatchNorm2d
        self.norm0, self.norm1 = norm(128), norm(64)

    def forward(self, z, y):
        if self.embedding is not None:
            z = torch.cat([z, self.embedding(y)[:, :, None, None]], 1)
        norm = (lambda layer, h: layer(h, y)) if self.how == "batchnorm" else (lambda layer, h: layer(h))
        h = F.relu(norm(self.norm0, self.up0(z)))
        h = F.relu(norm(self.norm1, self.up1(h)))
        return torch.tanh(self.up2(h))


class ProjectionDiscriminator(nn.Module):
    """atelier's dcgan D with the projection ⟨E[y], φ(x)⟩ over the 128·7·7 features before its last conv."""

    def __init__(self):
        super().__init__()
        self.phi = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
                                 nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2))
        self.last = nn.Conv2d(128, 1, 7, 1, 0, bias=False)
        self.projection = nn.Embedding(CLASSES, 128 * 7 * 7)

    def forward(self, x, y):
        h = self.phi(x)
        return self.last(h).flatten(1) + (self.projection(y) * h.flatten(1)).sum(1, keepdim=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generator", choices=["concat", "batchnorm"], required=True)
    p.add_argument("--steps", type=int, default=936, help="training steps (468 are one epoch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    images = read_idx(a.data, "train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(read_idx(a.data, "train-labels-idx1-ubyte", 8).astype(np.int64))
    data = torch.from_numpy(images.astype(np.float32) / 127.5 - 1)

    G, D = Generator(a.generator), ProjectionDiscriminator()
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
            real, y = data[index], labels[index]
            with torch.no_grad():
                fake = G(torch.randn(BATCH, LATENT, 1, 1), y)
            loss_d = bce(D(real, y), REAL_LABEL) + bce(D(fake, y), 0.0)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            D.requires_grad_(False)
            loss_g = bce(D(G(torch.randn(BATCH, LATENT, 1, 1), y), y), REAL_LABEL)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            D.requires_grad_(True)
            opt_g.step()
            step += 1
            if step % 100 == 0:
                print(f"step {step}: D loss {loss_d.item():.3f}, G loss {loss_g.item():.3f}, {time.perf_counter() - start:.0f} s", flush=True)

    G.eval()
    ratios = []
    with torch.no_grad():
        for c in range(CLASSES):
            fake = G(torch.randn(200, LATENT, 1, 1), torch.full((200,), c)).flatten(1)
            real = data[(labels == c).nonzero()[:200, 0]].flatten(1)
            ratios.append((torch.cdist(fake, fake).mean() / torch.cdist(real, real).mean()).item())
    print(f"{a.generator}, {step} steps, seed {a.seed}: within-class diversity / real's, per class "
          f"{' '.join(f'{r:.2f}' for r in ratios)}; mean {np.mean(ratios):.3f}")


if __name__ == "__main__":
    main()
