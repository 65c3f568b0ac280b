"""Trains `npm run train -- --conditional` in PyTorch, for the recipe search of issue 16: the class-conditional
DCGAN (conditional batchnorm in G, projection D; bench/pytorch/conditional.py) with atelier's recipe (DCGAN init,
BCE with real label 0.9, Adam 2e-4 β (0.5, 0.999), batch 128, GanTrainer.step's order: D on the real batch with
its labels and on G(z) for the same labels, one D update; G on a fresh z for those labels, one G update) and the
ingredients under test as atelier's flags name them: --decay-epochs (the rates fall linearly to 0 over the last
N epochs, step by step), --batch-size, --lr-g/--lr-d, --mode-seeking (Mao et al. 2019; pairs (i, n − ⌊n/2⌋ + i), each pair asked for one
class, as src/gan/mode-seeking.ts), --ngf/--ndf, --minibatch-std G (ProGAN's map before D's last conv),
--extra-layers-g N and --extra-layers-d N (the WGAN reference code's n_extra_layers: 3×3 conv + batchnorm +
ReLU/LeakyReLU blocks at 14×14, G's before its last transposed conv, D's after its first conv), --ema DECAY (the
moving average of G, written beside the trained G as atelier's checkpoints hold it), and the hinge + spectral-norm
candidate (--loss hinge --spectral-norm --beta1 0 --beta2 0.9: Miyato et al. 2018, every D conv normalised, D
without batchnorm, the projection's embedding left as it is), --augment translation,cutout (DiffAugment, Zhao et
al. 2020, on every image D sees), --loss rpgan (the relativistic pairing loss), --r1 γ and --r2 γ (the gradient
penalties γ/2 · E‖∇ₓD(x)‖² on the real and generated images D sees: Mescheder et al. 2018; R3GAN, Huang et al.
2024, pairs both with rpgan; taken here exactly, by double backward), --d-reg-every K (StyleGAN2's lazy
regularization: the penalties on every K-th step only, weighted K·γ). Two more are the replica's alone, screened
before anyone builds them: --pack M (PacGAN, Lin et al. 2018: D judges M images at once), --d-norm none (D without
batchnorm). On a 2-core CPU PyTorch runs
this step several times faster
than atelier on lavapipe, so candidates are screened here and the chosen recipe is then trained by atelier.
Writes G as an atelier generator file (`npm run evaluate -- --checkpoint FILE` scores it). After every epoch it
also writes FILE.state.pt (both nets, both Adam states, the RNG state, the step): `--resume` continues a stopped
run from its last whole epoch, bitwise as if it had not stopped, so a screen can outlive the session it began in.
A resume may give other --epochs and --decay-epochs while no decay has begun (the run then continues bitwise as one
started with the new values would), so a screen that looks promising can be extended into a candidate.

  /usr/bin/python3 bench/pytorch/train_conditional.py --out FILE [--epochs 20] [--decay-epochs N]
      [--mode-seeking L] [--batch-size 128] [--lr-g 2e-4] [--lr-d 2e-4] [--ngf 64] [--ndf 64] [--minibatch-std G] [--pack M] [--extra-layers-g N] [--extra-layers-d N] [--d-norm none] [--loss hinge|rpgan] [--augment translation,cutout] [--spectral-norm] [--r1 GAMMA] [--r2 GAMMA] [--d-reg-every K] [--beta1 0.5] [--beta2 0.999] [--seed 0] [--threads N] [--ema DECAY] [--save-every E] [--data DIR] [--resume]
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.dont_write_bytecode = True
from dcgan import BETAS, LR, REAL_LABEL, dcgan_init, write_safetensors
from conditional import LATENT, WIDTH, Generator, ProjectionDiscriminator, atelier_spec, atelier_tensors, read_idx, train_step

BATCH = 128


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, metavar="FILE", help="the generator file to write (.safetensors)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--decay-epochs", type=int, default=0)
    p.add_argument("--mode-seeking", type=float, default=0.0, metavar="L")
    p.add_argument("--batch-size", type=int, default=BATCH)
    p.add_argument("--lr-g", type=float, default=LR)
    p.add_argument("--lr-d", type=float, default=LR)
    p.add_argument("--ngf", type=int, default=WIDTH)
    p.add_argument("--ndf", type=int, default=WIDTH)
    p.add_argument("--minibatch-std", type=int, default=0, metavar="G")
    p.add_argument("--pack", type=int, default=1, metavar="M")
    p.add_argument("--extra-layers-g", type=int, default=0, metavar="N", help="3x3 conv + batchnorm + ReLU layers at G's 14x14 (WGAN code's n_extra_layers)")
    p.add_argument("--extra-layers-d", type=int, default=0, metavar="N", help="3x3 conv + batchnorm + LeakyReLU layers at D's 14x14")
    p.add_argument("--loss", default="bce", help="bce, hinge (Miyato et al. 2018), or rpgan: the relativistic pairing loss")
    p.add_argument("--r1", type=float, default=0.0, metavar="GAMMA", help="the R1 penalty γ/2 · E‖∇ₓD(x)‖² on real images in D's loss (Mescheder et al. 2018)")
    p.add_argument("--r2", type=float, default=0.0, metavar="GAMMA", help="the same penalty on G's images (R2; R3GAN pairs R1 and R2 with --loss rpgan)")
    p.add_argument("--d-reg-every", type=int, default=1, metavar="K", help="lazy regularization (StyleGAN2, Karras et al. 2020): the R1/R2 penalties on every K-th D step only (steps 0, K, 2K, …), weighted K·γ")
    p.add_argument("--augment", default="", help="translation,cutout: DiffAugment on every image D sees (atelier's --augment)")
    p.add_argument("--spectral-norm", action="store_true", help="every conv of D spectrally normalised, D without batchnorm (atelier's --spectral-norm)")
    p.add_argument("--beta1", type=float, default=BETAS[0], help="Adam's β1 for both nets (the hinge + spectral norm recipe: 0)")
    p.add_argument("--beta2", type=float, default=BETAS[1], help="Adam's β2 for both nets (the hinge + spectral norm recipe: 0.9)")
    p.add_argument("--d-norm", default="batchnorm", help="D's normalisation: batchnorm, or none")
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="also keep a moving average of G's weights and running statistics (atelier's --ema), written beside them")
    p.add_argument("--save-every", type=int, metavar="E", help="also write OUT's stem + -epoch_NNN every E epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--resume", action="store_true", help="continue from FILE.state.pt, written after every epoch")
    a = p.parse_args()
    for flag, value, choices in (("--augment", a.augment, ("", "translation,cutout")), ("--loss", a.loss, ("bce", "hinge", "rpgan")), ("--d-norm", a.d_norm, ("batchnorm", "none"))):
        if value not in choices:
            print(f"error: {flag} {value}: unknown; use one of {', '.join(c for c in choices if c)}", file=sys.stderr)
            sys.exit(1)
    for flag, value, ok, wants in (("--epochs", a.epochs, a.epochs >= 1, "a positive whole number"),
                                   ("--decay-epochs", a.decay_epochs, 0 <= a.decay_epochs <= a.epochs, f"0 … --epochs ({a.epochs})"),
                                   ("--mode-seeking", a.mode_seeking, 0 <= a.mode_seeking <= 100, "0 … 100 (MSGAN's λ is 1)"),
                                   ("--batch-size", a.batch_size, a.batch_size >= 2, "a whole number ≥ 2"),
                                   ("--lr-g", a.lr_g, 0 < a.lr_g <= 1, "a rate in (0, 1]"), ("--lr-d", a.lr_d, 0 < a.lr_d <= 1, "a rate in (0, 1]"),
                                   ("--ngf", a.ngf, a.ngf >= 1, "a positive whole number"), ("--ndf", a.ndf, a.ndf >= 1, "a positive whole number"),
                                   ("--pack", a.pack, a.pack >= 1 and a.batch_size % a.pack == 0, f"a whole number ≥ 1 dividing --batch-size ({a.batch_size})"),
                                   ("--minibatch-std", a.minibatch_std, a.minibatch_std == 0 or (a.minibatch_std >= 1 and (a.batch_size // max(a.pack, 1)) % a.minibatch_std == 0),
                                    f"0 (none) or a group size dividing the {a.batch_size // max(a.pack, 1)} inputs D sees at once"),
                                   ("--extra-layers-g", a.extra_layers_g, 0 <= a.extra_layers_g <= 8, "0 … 8"),
                                   ("--extra-layers-d", a.extra_layers_d, 0 <= a.extra_layers_d <= 8, "0 … 8"),
                                   ("--beta1", a.beta1, 0 <= a.beta1 < 1, "a number in [0, 1)"), ("--beta2", a.beta2, 0 <= a.beta2 < 1, "a number in [0, 1)"),
                                   ("--r1", a.r1, 0 <= a.r1 <= 1000, "0 (none) or a weight γ > 0, e.g. 0.01"),
                                   ("--r2", a.r2, 0 <= a.r2 <= 1000, "0 (none) or a weight γ > 0, e.g. 0.01"),
                                   ("--d-reg-every", a.d_reg_every, 1 <= a.d_reg_every <= 1000, "a whole number of steps ≥ 1, e.g. 8"),
                                   ("--ema", a.ema, 0 <= a.ema < 1, "0 (none) or a decay in (0, 1), e.g. 0.999"),
                                   ("--threads", a.threads, a.threads >= 1, "a positive whole number")):
        if not ok:
            print(f"error: {flag} {value:g}: wants {wants}", file=sys.stderr)
            sys.exit(1)
    if a.spectral_norm and a.d_norm != "batchnorm":
        print("error: --spectral-norm already removes D's batchnorm; drop --d-norm", file=sys.stderr)
        sys.exit(1)
    if os.path.isdir(a.out):
        print(f"error: --out {a.out}: is a folder; name the generator file to write, e.g. {os.path.join(a.out, 'generator.safetensors')}", file=sys.stderr)
        sys.exit(1)
    try:  # before training, not after it: a run must not end unable to write its G
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        open(a.out + ".partial", "wb").close()
        os.remove(a.out + ".partial")
    except OSError as e:
        print(f"error: --out {a.out}: cannot be written ({e.strerror}); choose a writable path", file=sys.stderr)
        sys.exit(1)
    state_path = a.out + ".state.pt"
    if os.path.exists(state_path) and not a.resume:
        print(f"error: {state_path}: a run's state is there; pass --resume to continue it, or remove it to start over", file=sys.stderr)
        sys.exit(1)
    if a.resume and not os.path.exists(state_path):
        print(f"error: --resume: {state_path} does not exist; start the run without --resume", file=sys.stderr)
        sys.exit(1)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    images = read_idx(a.data, "train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(read_idx(a.data, "train-labels-idx1-ubyte", 8).astype(np.int64))
    data = torch.from_numpy(images.astype(np.float32) / 127.5 - 1)
    if a.batch_size > len(data):  # otherwise no whole batch, no step, and an epoch of nothing
        print(f"error: --batch-size {a.batch_size}: larger than the {len(data)} training images in {a.data}; choose at most {len(data)}", file=sys.stderr)
        sys.exit(1)

    d_batchnorm = a.d_norm == "batchnorm" and not a.spectral_norm
    G, D = Generator("batchnorm", 1.0, a.ngf, a.extra_layers_g), ProjectionDiscriminator(a.ndf, a.minibatch_std, a.pack, d_batchnorm, a.extra_layers_d)
    dcgan_init(G)  # the conditional batchnorm's γ and β keep their own init
    dcgan_init(D)
    nn.init.xavier_uniform_(D.projection.weight)
    if a.spectral_norm:
        D.spectral_norm()
    average = copy.deepcopy(G) if a.ema else None
    opt_g = torch.optim.Adam(G.parameters(), a.lr_g, betas=(a.beta1, a.beta2))
    opt_d = torch.optim.Adam(D.parameters(), a.lr_d, betas=(a.beta1, a.beta2))
    per_epoch = len(data) // a.batch_size
    total, decay = per_epoch * a.epochs, per_epoch * a.decay_epochs
    config = {"epochs": a.epochs, "decayEpochs": a.decay_epochs, "batchSize": a.batch_size, "lrG": a.lr_g, "lrD": a.lr_d,
              "beta1": a.beta1, "beta2": a.beta2, "latentDim": LATENT, "realLabel": REAL_LABEL, "loss": a.loss,
              "seed": a.seed, "conditional": True, "ngf": a.ngf, "ndf": a.ndf,
              **({"modeSeeking": a.mode_seeking} if a.mode_seeking else {}),
              **({"minibatchStd": a.minibatch_std} if a.minibatch_std else {}), **({"pack": a.pack} if a.pack > 1 else {}),
              **({"spectralNorm": True} if a.spectral_norm else {} if d_batchnorm else {"dNorm": a.d_norm}),
              **({"extraLayersG": a.extra_layers_g} if a.extra_layers_g else {}), **({"extraLayersD": a.extra_layers_d} if a.extra_layers_d else {}),
              **({"ema": a.ema} if a.ema else {}), **({"r1": a.r1} if a.r1 else {}), **({"r2": a.r2} if a.r2 else {}), **({"dRegEvery": a.d_reg_every} if a.d_reg_every > 1 else {}), **({"augment": a.augment.split(",")} if a.augment else {})}
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; {json.dumps(config)}", flush=True)

    def save(path, steps):
        G.eval()
        tmp = path + ".partial"
        tensors = atelier_tensors(G)
        if average is not None:  # atelier's checkpoint layout: evaluate uses the average, --trained the last step's G
            tensors.update({"generator_ema." + k[len("generator."):]: v for k, v in atelier_tensors(average).items()})
        write_safetensors(tmp, tensors, {
            "format": "atelier-dcgan-generator/1", "weights": "trained", "step": str(steps),
            "epochs_done": str(steps // per_epoch), "model": json.dumps(atelier_spec("batchnorm", a.ngf, a.ndf, a.minibatch_std, d_batchnorm, a.extra_layers_g, a.extra_layers_d, a.spectral_norm)),
            "config": json.dumps(config), "trained_with": f"PyTorch {torch.__version__} CPU, bench/pytorch/train_conditional.py"})
        os.replace(tmp, path)
        G.train()

    def save_state(epoch, steps, seconds):
        tmp = state_path + ".partial"
        torch.save({"config": config, "epoch": epoch, "step": steps, "seconds": seconds, "rng": torch.get_rng_state(),
                    "G": G.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                    **({"average": average.state_dict()} if average is not None else {})}, tmp)
        os.replace(tmp, state_path)

    step, done, elapsed = 0, 0, 0.0
    if a.resume:
        try:
            state = torch.load(state_path)
        except Exception as e:  # a truncated or foreign file
            print(f"error: --resume: {state_path} cannot be read ({e}); remove it to start over", file=sys.stderr)
            sys.exit(1)
        schedule = ("epochs", "decayEpochs")  # may change while the steps done would see the same rates
        changed = sorted(k for k in set(config) | set(state["config"]) if k not in schedule and config.get(k) != state["config"].get(k))
        if changed:
            print(f"error: --resume: {state_path} was written with other settings ({', '.join(changed)}); give the same flags as the run had", file=sys.stderr)
            sys.exit(1)
        old = state["config"]
        if (old["epochs"], old["decayEpochs"]) != (a.epochs, a.decay_epochs):
            old_decay_from = old["epochs"] - old["decayEpochs"] if old["decayEpochs"] else old["epochs"]
            new_decay_from = a.epochs - a.decay_epochs if a.decay_epochs else a.epochs
            if state["epoch"] > min(old_decay_from, new_decay_from) or a.epochs <= state["epoch"]:
                print(f"error: --resume: {state_path} is after epoch {state['epoch']} of --epochs {old['epochs']} --decay-epochs {old['decayEpochs']}; "
                      f"--epochs and --decay-epochs may change only while no rate decay has begun in either schedule and epochs remain "
                      f"(the decay may start at epoch {state['epoch']} or later); give the run's own values otherwise", file=sys.stderr)
                sys.exit(1)
        G.load_state_dict(state["G"]); D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"]); opt_d.load_state_dict(state["opt_d"])
        if average is not None:
            average.load_state_dict(state["average"])
        torch.set_rng_state(state["rng"])
        step, done, elapsed = state["step"], state["epoch"], state["seconds"]
        print(f"resumed {state_path} after epoch {done} ({step} steps)", flush=True)
    start = time.perf_counter() - elapsed
    for epoch in range(done + 1, a.epochs + 1):
        order = torch.randperm(len(data))
        sums = np.zeros(3)
        for b in range(per_epoch):
            scale = 1.0 if decay == 0 else max(0.0, min(1.0, (total - step) / decay))
            for opt, lr in ((opt_g, a.lr_g), (opt_d, a.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * scale
            index = order[b * a.batch_size:(b + 1) * a.batch_size]
            lazy = a.d_reg_every if step % a.d_reg_every == 0 else 0  # 0: no penalty on this step
            sums += train_step(G, D, opt_g, opt_d, data[index], labels[index], a.mode_seeking, a.loss, bool(a.augment), a.r1 * lazy, a.r2 * lazy)
            step += 1
            if average is not None:  # as src/gan/ema.ts: the decay ramps up as (1 + step) / (10 + step)
                decay_now = min(a.ema, (1 + step) / (10 + step))
                with torch.no_grad():
                    for mean, current in zip(average.state_dict().values(), G.state_dict().values()):
                        if mean.dtype.is_floating_point:
                            mean.mul_(decay_now).add_(current, alpha=1 - decay_now)
        m = sums / per_epoch
        print(f"epoch {epoch}: D loss {m[0]:.3f}, G loss {m[1]:.3f}, mode seeking {m[2]:.3f}, lr scale {scale:.3f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        if a.save_every and epoch % a.save_every == 0 and epoch != a.epochs:
            stem, ext = os.path.splitext(a.out)
            save(f"{stem}-epoch_{epoch:03d}{ext or '.safetensors'}", step)
        save_state(epoch, step, time.perf_counter() - start)
    save(a.out, step)
    print(f"wrote {a.out} ({step} steps)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the way a screen is stopped: its state after the last whole epoch is on disk
        print("stopped; --resume continues from the last whole epoch's state", file=sys.stderr)
        sys.exit(130)
