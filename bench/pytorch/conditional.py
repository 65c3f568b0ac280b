"""The class-conditional DCGAN that `npm run train -- --conditional` builds (src/gan/spec.ts conditionalSpec,
src/gan/network.ts), in PyTorch: G takes the class through conditional batchnorm (or, atelier's first build, a
50-wide class embedding concatenated to z); D is the reference D with a projection term (Miyato & Koyama 2018)
over the features before its last conv. `atelier_spec` and `atelier_tensors` write G as an atelier generator
file. `train_step` is GanTrainer.step for them. Shared by conditional_diversity.py and train_conditional.py."""
import gzip
import os
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from dcgan import REAL_LABEL, bce

CLASSES, LATENT, EMBEDDING = 10, 100, 50
WIDTH = 64  # ngf and ndf: the channels of the layer next to the image; the inner layer has twice as many


def read_idx(data_dir, name, offset):
    """The IDX file data_dir/name (or name.gz) as uint8, its header of `offset` bytes skipped."""
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
    """atelier's dcgan G (src/gan/models.ts), class-conditional by `how`: "batchnorm" or "concat"."""

    def __init__(self, how, beta_std=1.0, width=WIDTH, extra_layers=0):
        super().__init__()
        self.how = how
        extra = EMBEDDING if how == "concat" else 0
        self.embedding = nn.Embedding(CLASSES, EMBEDDING) if how == "concat" else None
        self.up0 = nn.ConvTranspose2d(LATENT + extra, 2 * width, 7, 1, 0, bias=False)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False)
        self.up2 = nn.ConvTranspose2d(width, 1, 4, 2, 1, bias=False)
        if how == "batchnorm":
            self.norm0, self.norm1 = ConditionalBatchNorm2d(2 * width, beta_std), ConditionalBatchNorm2d(width, beta_std)
        else:
            self.norm0, self.norm1 = nn.BatchNorm2d(2 * width), nn.BatchNorm2d(width)
        # `--extra-layers-g`: the WGAN reference code's n_extra_layers, 3×3 convs at the last inner resolution
        self.extra = nn.ModuleList(nn.Conv2d(width, width, 3, 1, 1, bias=False) for _ in range(extra_layers))
        self.extra_norms = nn.ModuleList((ConditionalBatchNorm2d(width, beta_std) if how == "batchnorm" else nn.BatchNorm2d(width))
                                         for _ in range(extra_layers))

    def forward(self, z, y):
        if self.embedding is not None:
            z = torch.cat([z, self.embedding(y)[:, :, None, None]], 1)
        norm = (lambda layer, h: layer(h, y)) if self.how == "batchnorm" else (lambda layer, h: layer(h))
        h = F.relu(norm(self.norm0, self.up0(z)))
        h = F.relu(norm(self.norm1, self.up1(h)))
        for conv, layer in zip(self.extra, self.extra_norms):
            h = F.relu(norm(layer, conv(h)))
        return torch.tanh(self.up2(h))


def minibatch_std(x, group_size, eps=1e-8):
    """x [N, C, H, W] with ProGAN's minibatch standard-deviation map appended (src/tensor/ops/minibatch-std.ts):
    image n in group n mod (N / G), G = min(group_size, N); each group's std over its images, averaged over the
    features, fills the new map of the group's images."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    m = n // g
    y = x.reshape(g, m, c * h * w)
    std = ((y - y.mean(0, keepdim=True)) ** 2).mean(0).add(eps).sqrt().mean(1)  # [m]
    return torch.cat([x, std.reshape(1, m, 1, 1).expand(g, m, h, w).reshape(n, 1, h, w)], 1)


class ProjectionDiscriminator(nn.Module):
    """atelier's dcgan D with the projection ⟨E[y], φ(x)⟩ over the 2·width·7·7 features before its last conv;
    with `std_group` its minibatch-std map before the last conv (`--minibatch-std`); with `pack` > 1, PacGAN's
    packing (Lin et al. 2018): each run of `pack` consecutive images is one input of `pack` channels, one logit,
    and the projection reads the pack's classes by position (one embedding row per position and class); with
    `norm` False, no batchnorm (whose statistics over an all-fake batch hide how little G's images vary)."""

    def __init__(self, width=WIDTH, std_group=0, pack=1, norm=True, extra_layers=0):
        super().__init__()
        self.std_group, self.pack = std_group, pack
        extra = [m for _ in range(extra_layers) for m in (nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                                          *([nn.BatchNorm2d(width)] if norm else []), nn.LeakyReLU(0.2))]
        self.phi = nn.Sequential(nn.Conv2d(pack, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2), *extra,
                                 nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),
                                 *([nn.BatchNorm2d(2 * width)] if norm else []), nn.LeakyReLU(0.2))
        features = 2 * width + (1 if std_group else 0)
        self.last = nn.Conv2d(features, 1, 7, 1, 0, bias=False)
        self.projection = nn.Embedding(CLASSES * pack, features * 7 * 7)

    def spectral_norm(self):
        """Miyato et al. 2018 on every conv (atelier's `--spectral-norm`; the projection's embedding is not
        normalised): one power-iteration step per training forward, as atelier's SpectralNormConv2d. Call it after
        the init, and only on a D built with norm False (batchnorm would undo σ)."""
        for module in [self] + list(self.phi):
            for name, child in list(module.named_children()):
                if isinstance(child, nn.Conv2d):
                    setattr(module, name, nn.utils.spectral_norm(child))
        return self

    def forward(self, x, y):
        if self.pack > 1:
            x = x.reshape(-1, self.pack, *x.shape[2:])
            y = y.reshape(-1, self.pack) + CLASSES * torch.arange(self.pack)
        h = self.phi(x)
        if self.std_group:
            h = minibatch_std(h, self.std_group)
        e = self.projection(y)
        if self.pack > 1:
            e = e.sum(1)
        return self.last(h).flatten(1) + (e * h.flatten(1)).sum(1, keepdim=True)


def mode_seeking(images, z, eps=1e-5):
    """1 / (d_I / d_z + eps) over the pairs (i, n − p + i), p = ⌊n/2⌋, d = mean absolute difference
    (src/gan/mode-seeking.ts, Mao et al. 2019)."""
    n = images.shape[0]
    p = n // 2
    gap = lambda x: (x[:p] - x[n - p:]).abs().mean()
    return 1 / (gap(images) / gap(z) + eps)


def diff_augment(x, shift=4, cut=14):
    """DiffAugment's translation then cutout (Zhao et al. 2020; shaders/diff_augment.wgsl): image n shifted by whole
    pixels tr, tc uniform on −shift…shift (zero fill), then the cut × cut square from row r0, column c0 (uniform on
    −cut/2 … H − cut/2, clipped to the image) zeroed; differentiable in x."""
    n, c, h, w = x.shape
    tr, tc = torch.randint(-shift, shift + 1, (2, n))
    padded = F.pad(x, (shift, shift, shift, shift))
    rows = (torch.arange(h)[None, :] + tr[:, None] + shift)[:, None, :, None]
    cols = (torch.arange(w)[None, :] + tc[:, None] + shift)[:, None, None, :]
    moved = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    r0 = torch.randint(0, h + 1 - cut % 2, (n,)) - cut // 2
    c0 = torch.randint(0, w + 1 - cut % 2, (n,)) - cut // 2
    r, j = torch.arange(h)[None, :], torch.arange(w)[None, :]
    inside = ((r >= r0[:, None]) & (r < r0[:, None] + cut))[:, :, None] & ((j >= c0[:, None]) & (j < c0[:, None] + cut))[:, None, :]
    return moved * (~inside)[:, None].to(x.dtype)


def paired(y):
    """The labels G's step asks for under mode seeking: image n − p + i gets image i's class."""
    n = y.shape[0]
    return torch.cat([y[: n - n // 2], y[: n // 2]])


def train_step(G, D, opt_g, opt_d, real, y, seek=0.0, loss="bce", augment=False, r1=0.0, r2=0.0):
    """GanTrainer.step on a conditional model: D on the real batch with its labels y and on G(z) for y (no graph),
    one D update; G on a fresh z for y (paired under mode seeking, whose term is added times `seek`), one G
    update. `loss` "bce": the non-saturating loss with real label 0.9; "hinge": D minimises E[relu(1 − D(x))] +
    E[relu(1 + D(G(z)))], G −E[D(G(z))] (Miyato et al. 2018; src/gan/losses.ts); "rpgan": the relativistic pairing loss
    (Jolicoeur-Martineau 2019; Sun et al. 2020), D minimises softplus(D(fake_i) − D(real_i)) and G
    softplus(D(real_i) − D(fake_i)) over the pairs (real image i, fake image i of the same class), so G's step runs
    D on the real batch too. With `augment`, D sees every image, real and fake, in both steps through diff_augment.
    With `r1` γ > 0, D's loss gains γ/2 · E‖∇ₓD(x)‖² over the real batch as D sees it (the R1 penalty, Mescheder et
    al. 2018), the gradient taken through D's batchnorm of that batch, exactly (double backward); `r2` the same on the fake batch
    (R2; R3GAN, Huang et al. 2024, pairs both with the relativistic loss).
    Returns (D loss, G loss, mode-seeking term) as floats."""
    batch = real.shape[0]
    judge = (lambda x, labels: D(diff_augment(x), labels)) if augment else D
    with torch.no_grad():
        fake = G(torch.randn(batch, LATENT, 1, 1), y)
    # The images D sees, augmented in the order the draws have always been made; the penalties differentiate D at
    # these (after DiffAugment, as StyleGAN2-ADA takes R1, and as atelier's gradient-penalty.ts).
    see = diff_augment if augment else (lambda x: x)
    if loss == "rpgan":
        fake_in = see(fake)
        real_in = see(real)
    else:
        real_in = see(real)
        fake_in = see(fake)
    if r1:
        real_in = real_in.detach().requires_grad_(True)
    if r2:
        fake_in = fake_in.detach().requires_grad_(True)
    if loss == "rpgan":  # D's forwards in this order too: it fixes the order D's gradients are summed in
        on_fake = D(fake_in, y)
        on_real = D(real_in, y)
    else:
        on_real = D(real_in, y)
        on_fake = D(fake_in, y)
    if loss == "rpgan":
        loss_d = F.softplus(on_fake - on_real).mean()
    elif loss == "hinge":
        loss_d = F.relu(1 - on_real).mean() + F.relu(1 + on_fake).mean()
    else:
        loss_d = bce(on_real, REAL_LABEL) + bce(on_fake, 0.0)
    for gamma, x, out in ((r1, real_in, on_real), (r2, fake_in, on_fake)):
        if gamma:
            grad, = torch.autograd.grad(out.sum(), x, create_graph=True)
            loss_d = loss_d + gamma / 2 * grad.pow(2).flatten(1).sum(1).mean()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    D.requires_grad_(False)
    z = torch.randn(batch, LATENT, 1, 1)
    y2 = paired(y) if seek else y
    fake2 = G(z, y2)
    if loss == "rpgan":
        loss_g = F.softplus(judge(real, y2) - judge(fake2, y2)).mean()
    elif loss == "hinge":
        loss_g = -judge(fake2, y2).mean()
    else:
        loss_g = bce(judge(fake2, y2), REAL_LABEL)
    term = mode_seeking(fake2, z) if seek else torch.zeros(())
    opt_g.zero_grad(set_to_none=True)
    (loss_g + seek * term).backward()
    D.requires_grad_(True)
    opt_g.step()
    return loss_d.item(), loss_g.item(), term.item()


def atelier_spec(how, ngf=WIDTH, ndf=WIDTH, std_group=0, d_norm=True, extra_g=0, extra_d=0, spectral=False):
    """The model spec atelier writes for `--conditional [--ngf N --ndf N --minibatch-std G --d-norm none]` (src/gan/spec.ts), or its
    first build's for concat. (PacGAN's packed D has no atelier spec: it is written unpacked; G alone is in the file.)"""
    def norm(channels):
        if how == "batchnorm":
            return {"type": "conditionalBatchNorm2d", "channels": channels, "classes": CLASSES, "momentum": 0.1, "eps": 1e-5}
        return {"type": "batchNorm2d", "channels": channels, "momentum": 0.1, "eps": 1e-5}
    up = lambda i, o, k, s, p: {"type": "convTranspose2d", "in": i, "out": o, "kernel": k, "stride": s, "padding": p, "bias": False}
    conv = lambda i, o, k, s, p: {"type": "conv2d", "in": i, "out": o, "kernel": k, "stride": s, "padding": p, "bias": False}
    d_conv = (lambda i, o, k, s, p: {**conv(i, o, k, s, p), "spectralNorm": True}) if spectral else conv
    return {
        "format": "atelier-gan-spec/1", "preset": "dcgan", "latentDim": LATENT,
        "image": {"channels": 1, "height": 28, "width": 28, "range": "[-1,1]"},
        "generator": [up(LATENT + (EMBEDDING if how == "concat" else 0), 2 * ngf, 7, 1, 0), norm(2 * ngf), {"type": "relu"},
                      up(2 * ngf, ngf, 4, 2, 1), norm(ngf), {"type": "relu"},
                      *[layer for _ in range(extra_g) for layer in (conv(ngf, ngf, 3, 1, 1), norm(ngf), {"type": "relu"})],
                      up(ngf, 1, 4, 2, 1), {"type": "tanh"}],
        "discriminator": [d_conv(1, ndf, 4, 2, 1), {"type": "leakyRelu", "slope": 0.2},
                          *[layer for _ in range(extra_d) for layer in (d_conv(ndf, ndf, 3, 1, 1),
                            *([{"type": "batchNorm2d", "channels": ndf, "momentum": 0.1, "eps": 1e-5}] if d_norm else []), {"type": "leakyRelu", "slope": 0.2})],
                          d_conv(ndf, 2 * ndf, 4, 2, 1),
                          *([{"type": "batchNorm2d", "channels": 2 * ndf, "momentum": 0.1, "eps": 1e-5}] if d_norm else []), {"type": "leakyRelu", "slope": 0.2},
                          *([{"type": "minibatchStd", "groupSize": std_group}] if std_group else []),
                          d_conv(2 * ndf + (1 if std_group else 0), 1, 7, 1, 0), {"type": "flatten"}],
        "init": "dcgan", "training": {"labels": "real-1", "discriminatorInGeneratorStep": "train", "adamEps": 1e-8},
        "conditional": {"classes": CLASSES, **({"embedding": EMBEDDING} if how == "concat" else {})},
    }


def atelier_tensors(G):
    """G's tensors under atelier's names (generator.<layer index>.*, generator.embedding.weight)."""
    extra = len(G.extra)
    t = {"generator.0.weight": G.up0.weight, "generator.3.weight": G.up1.weight, f"generator.{6 + 3 * extra}.weight": G.up2.weight}
    for i, conv in enumerate(G.extra):
        t[f"generator.{6 + 3 * i}.weight"] = conv.weight
    for index, norm in ((1, G.norm0), (4, G.norm1), *((7 + 3 * i, n) for i, n in enumerate(G.extra_norms))):
        stats = norm.norm if G.how == "batchnorm" else norm
        t[f"generator.{index}.weight"], t[f"generator.{index}.bias"] = norm.weight, norm.bias
        t[f"generator.{index}.running_mean"], t[f"generator.{index}.running_var"] = stats.running_mean, stats.running_var
    if G.embedding is not None:
        t["generator.embedding.weight"] = G.embedding.weight
    return {k: v.detach() for k, v in t.items()}
