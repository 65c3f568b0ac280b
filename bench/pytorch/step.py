"""The bench's PyTorch peer: times the reference DCGAN's training step (dcgan.Step) on the CPU and prints one
JSON object on stdout: ms/step (median), the BLAS library in use, threads, the model's layer facts and, with
--check FILE, G's and D's outputs on the weights and inputs in FILE (training mode, batch statistics), so that
bench/pytorch-peer.ts can check that it is the same model as atelier's.

  python3 bench/pytorch/step.py [--batch 128] [--steps 10] [--warmups 2] [--threads N] [--seed 0] [--check FILE]
"""
import argparse
import json
import os
import re
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
from dcgan import LATENT_DIM, Step, dcgan_init, discriminator, generator, layer_facts, load_state, read_safetensors

BLAS_ALTERNATIVE = "/usr/lib/x86_64-linux-gnu/libblas.so.3"


def loaded_blas():
    """The BLAS/LAPACK shared objects this process has mapped (the truth, whatever the alternatives say)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if re.search(r"(blas|lapack|mkl|blis|atlas)[^/]*\.so", os.path.basename(path)):
                    libs.add(path)
    except OSError:
        pass
    return sorted(libs)


def blas_kind(libs):
    """'openblas', 'blis', 'mkl', 'atlas', 'reference' (Debian's netlib libblas in .../blas/) or 'unknown'."""
    text = " ".join(libs)
    for kind in ("openblas", "blis", "mkl", "atlas"):
        if kind in text:
            return kind
    if re.search(r"/blas/libblas\.so", text):
        return "reference"
    return "unknown"


def build_info():
    """BLAS_INFO / LAPACK_INFO from torch.__config__.show() and the torch.backends flags (how torch was built)."""
    show = torch.__config__.show()
    info = {k: v for k, v in re.findall(r"(BLAS_INFO|LAPACK_INFO)=([^,\s]+)", show)}
    info["mkl"] = torch.backends.mkl.is_available()
    info["mkldnn"] = torch.backends.mkldnn.is_available()
    info["openmp"] = torch.backends.openmp.is_available()
    return info


def check_outputs(path):
    """G(input.z) and D(input.x) in training mode with the generator.* and discriminator.* weights of `path`."""
    tensors, _ = read_safetensors(path)
    G, D = generator(), discriminator()
    load_state("generator.", G, tensors)
    load_state("discriminator.", D, tensors)
    with torch.no_grad():
        g = G(torch.from_numpy(tensors["input.z"].copy()))
        d = D(torch.from_numpy(tensors["input.x"].copy()))
    return {"G": g.flatten().tolist(), "D": d.flatten().tolist()}


def median(values):
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmups", type=int, default=2)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", metavar="FILE", help="safetensors with generator.*, discriminator.*, input.z, input.x")
    a = p.parse_args()
    for name in ("batch", "steps", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name} wants a positive integer")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    out = {"torch": torch.__version__, "python": sys.version.split()[0], "threads": torch.get_num_threads(), "build": build_info()}
    if a.check:
        out["check"] = check_outputs(a.check)

    G, D = generator(), discriminator()
    out["facts"] = {"G": layer_facts(G, torch.randn(2, LATENT_DIM, 1, 1)), "D": layer_facts(D, torch.randn(2, 1, 28, 28))}
    dcgan_init(G)
    dcgan_init(D)
    step = Step(G, D)
    real = torch.randn(a.batch, 1, 28, 28) * 0.5
    times, first = [], None
    for i in range(a.warmups + a.steps):
        start = time.perf_counter()
        stats = step(real)  # ends with .tolist(): the four statistics are on the host
        ms = (time.perf_counter() - start) * 1000
        if first is None:
            first = stats
        if i >= a.warmups:
            times.append(ms)

    libs = loaded_blas()
    out.update({
        "batch": a.batch, "steps": a.steps, "warmups": a.warmups, "msPerStep": median(times), "times": times,
        "firstStats": first, "blas": blas_kind(libs), "blasLibraries": libs,
        "blasAlternative": os.path.realpath(BLAS_ALTERNATIVE) if os.path.exists(BLAS_ALTERNATIVE) else None,
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
