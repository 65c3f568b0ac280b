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
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
from dcgan import BETAS, LR, REAL_LABEL, bce, dcgan_init, write_safetensors

CLASSES, LATENT, EMBEDDING, BATCH = 10, 100, 50, 128


def read_idx(data_dir, name, offset):
    for path in (os.path.join(data_dir, name), os.path.join(data_dir, name + ".gz")):
        if os.path.isfile(path):
            with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
                return np.frombuffer(f.read(), np.uint8, offset=offset)
    print(f"error: --data {data_dir}: no {name} or {name}.gz there; pass the Fashion-MNIST folder", file=sys.stderr)
    sys.exit(1)


class ConditionalBatchNorm2d(nn.Module):
    """Batchnorm without its own affine, then each image's class's γ (initially N(1, 0.02)) and β (N(0, beta_std))."""

    def __init__(self, channels, beta_std):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.weight = nn.Parameter(torch.normal(1.0, 0.02, (CLASSES, channels)))
        self.bias = nn.Parameter(torch.normal(0.0, beta_std, (CLASSES, channels)))

    def forward(self, x, y):
        return self.norm(x) * self.weight[y][:, :, None, None] + self.bias[y][:, :, None, None]


class Generator(nn.Module):
    """atelier's dcgan G (src/gan/models.ts), class-conditional either way."""

    def __init__(self, how, beta_std):
        super().__init__()
        self.how = how
        extra = EMBEDDING if how == "concat" else 0
        self.embedding = nn.Embedding(CLASSES, EMBEDDING) if how == "concat" else None
        self.up0 = nn.ConvTranspose2d(LATENT + extra, 128, 7, 1, 0, bias=False)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False)
        if how == "batchnorm":
            self.norm0, self.norm1 = ConditionalBatchNorm2d(128, beta_std), ConditionalBatchNorm2d(64, beta_std)
        else:
            self.norm0, self.norm1 = nn.BatchNorm2d(128), nn.BatchNorm2d(64)

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


def atelier_spec(how):
    """The model spec atelier writes for `--conditional` (src/gan/spec.ts), or its first build's for concat."""
    def norm(channels):
        if how == "batchnorm":
            return {"type": "conditionalBatchNorm2d", "channels": channels, "classes": CLASSES, "momentum": 0.1, "eps": 1e-5}
        return {"type": "batchNorm2d", "channels": channels, "momentum": 0.1, "eps": 1e-5}
    up = lambda i, o, k, s, p: {"type": "convTranspose2d", "in": i, "out": o, "kernel": k, "stride": s, "padding": p, "bias": False}
    conv = lambda i, o, k, s, p: {"type": "conv2d", "in": i, "out": o, "kernel": k, "stride": s, "padding": p, "bias": False}
    return {
        "format": "atelier-gan-spec/1", "preset": "dcgan", "latentDim": LATENT,
        "image": {"channels": 1, "height": 28, "width": 28, "range": "[-1,1]"},
        "generator": [up(LATENT + (EMBEDDING if how == "concat" else 0), 128, 7, 1, 0), norm(128), {"type": "relu"},
                      up(128, 64, 4, 2, 1), norm(64), {"type": "relu"}, up(64, 1, 4, 2, 1), {"type": "tanh"}],
        "discriminator": [conv(1, 64, 4, 2, 1), {"type": "leakyRelu", "slope": 0.2}, conv(64, 128, 4, 2, 1),
                          {"type": "batchNorm2d", "channels": 128, "momentum": 0.1, "eps": 1e-5}, {"type": "leakyRelu", "slope": 0.2},
                          conv(128, 1, 7, 1, 0), {"type": "flatten"}],
        "init": "dcgan", "training": {"labels": "real-1", "discriminatorInGeneratorStep": "train", "adamEps": 1e-8},
        "conditional": {"classes": CLASSES, **({"embedding": EMBEDDING} if how == "concat" else {})},
    }


def atelier_tensors(G):
    """G's tensors under atelier's names (generator.<layer index>.*, generator.embedding.weight)."""
    t = {"generator.0.weight": G.up0.weight, "generator.3.weight": G.up1.weight, "generator.6.weight": G.up2.weight}
    for index, norm in ((1, G.norm0), (4, G.norm1)):
        stats = norm.norm if G.how == "batchnorm" else norm
        t[f"generator.{index}.weight"], t[f"generator.{index}.bias"] = norm.weight, norm.bias
        t[f"generator.{index}.running_mean"], t[f"generator.{index}.running_var"] = stats.running_mean, stats.running_var
    if G.embedding is not None:
        t["generator.embedding.weight"] = G.embedding.weight
    return {k: v.detach() for k, v in t.items()}


if __name__ == "__main__":
    main()
