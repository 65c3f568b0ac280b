"""The reference DCGAN of src/gan/models.ts and its training step (src/gan/trainer.ts) in PyTorch, layer for
layer, with atelier's state-dict names (generator.N.*, discriminator.N.*), and safetensors read and written by
hand (Debian has no python3-safetensors): an 8-byte little-endian header length, a JSON header, raw
little-endian data. Shared by step.py (the bench peer) and train_reference.py (the reference recipe)."""
import json
import struct

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

LATENT_DIM = 100
WIDTH = 64
INIT_STD = 0.02
# src/gan/trainer.ts DEFAULT_GAN_CONFIG
LR = 2e-4
BETAS = (0.5, 0.999)
REAL_LABEL = 0.9


def generator(latent_dim=LATENT_DIM, width=WIDTH):
    """z [B, latent_dim, 1, 1] -> image [B, 1, 28, 28] in [-1, 1]; the layers after batchnorm have no bias."""
    return nn.Sequential(
        nn.ConvTranspose2d(latent_dim, 2 * width, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1, bias=False), nn.Tanh(),
    )


def discriminator(width=WIDTH):
    """image [B, 1, 28, 28] -> one logit per image [B, 1]."""
    return nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * width, 1, 7, 1, 0, bias=False), nn.Flatten(),
    )


def dcgan_init(model):
    """Radford et al.: conv weights N(0, 0.02), batchnorm weight N(1, 0.02) and bias 0 (as dcganInit)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, INIT_STD)
            nn.init.zeros_(m.bias)


def describe(m):
    """The layer's name as atelier's Module.describe() and the tfjs peer print it."""
    if isinstance(m, nn.ConvTranspose2d):
        return f"conv2dTranspose({m.in_channels}→{m.out_channels}, k{m.kernel_size[0]}, s{m.stride[0]}, p{m.padding[0]})"
    if isinstance(m, nn.Conv2d):
        return f"conv2d({m.in_channels}→{m.out_channels}, k{m.kernel_size[0]}, s{m.stride[0]}, p{m.padding[0]})"
    if isinstance(m, nn.BatchNorm2d):
        return f"batchNorm({m.num_features})"
    if isinstance(m, nn.LeakyReLU):
        return f"leakyRelu({m.negative_slope})"
    return type(m).__name__.lower()


def layer_facts(model, x):
    """Per layer: its name, its output shape per image ("C×H×W") and its parameter count (bench/model-check.ts)."""
    facts = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            facts.append({
                "name": describe(layer),
                "shape": "×".join(str(d) for d in x.shape[1:]),
                "params": sum(p.numel() for p in layer.parameters()),
            })
    return facts


def bce(logits, target):
    """Mean binary cross-entropy from logits against one target value (atelier's bceWithLogits)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class Step:
    """GanTrainer.step: D on a real batch and on G(z) computed without a graph (batchnorm still updates its
    running statistics), the two losses summed, one D update; then G on a fresh z through D with D's weights
    frozen, one G update. Adam 2e-4, β (0.5, 0.999), ε 1e-8, real label 0.9."""

    def __init__(self, G, D, latent_dim=LATENT_DIM):
        self.G, self.D, self.latent_dim = G, D, latent_dim
        self.opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS, eps=1e-8)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS, eps=1e-8)

    def __call__(self, real):
        G, D = self.G, self.D
        batch = real.shape[0]
        z = torch.randn(batch, self.latent_dim, 1, 1)
        with torch.no_grad():
            fake = G(z)
        real_logits = D(real)
        fake_logits = D(fake)
        loss_d = bce(real_logits, REAL_LABEL) + bce(fake_logits, 0.0)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        D.requires_grad_(False)
        try:
            z2 = torch.randn(batch, self.latent_dim, 1, 1)
            loss_g = bce(D(G(z2)), REAL_LABEL)
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            D.requires_grad_(True)
        self.opt_g.step()
        with torch.no_grad():
            stats = torch.stack([loss_d, loss_g, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()])
        return stats.tolist()


def state_tensors(prefix, model):
    """The model's parameters and batchnorm running statistics as atelier names them (num_batches_tracked dropped)."""
    return {prefix + k: v.detach() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def load_state(prefix, model, tensors):
    """Loads atelier-named tensors into the model; every parameter and running statistic must be there."""
    state = {k[len(prefix):]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith(prefix)}
    missing = model.load_state_dict(state, strict=False).missing_keys
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"no tensor {prefix}{missing[0]}")


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> torch or numpy float32 array; written in name order, as atelier writes them."""
    header = {"__metadata__": dict(metadata)} if metadata else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].numpy() if torch.is_tensor(tensors[name]) else tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (name -> float32 numpy array, metadata); only F32 tensors (all atelier writes for models)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {e['dtype']}, only F32 is read")
        begin, end = e["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(e["shape"])
    return tensors, metadata
