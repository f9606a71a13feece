"""Golden parity data: torch.optim rules in float64 on CPU for 20 steps from seeded data.

Writes, per case, into OUT/<case>/: param0.npy (initial parameter), grads.npy (one gradient per step,
stacked on the first axis), param.npy (final parameter), one .npy per state buffer named as torch
names it, and manifest.json (rule name, spec hyperparameters, torch's param group, steps, torch version,
and the scalar state torch keeps as 0-dim tensors, such as NAdam's mu_product, under "scalars").
Muon cases also write ns.npy: torch's Newton-Schulz output at every step (it runs in bf16).
Usage: python3 make_golden.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch
from torch.optim import _muon

STEPS = 20  # steps per case
FLOAT64_SCALAR_STATE = {"nadam", "asgd"}  # rules whose 0-dim state must be float64 to match the spec (run_case)
VEC = (37,)  # shape of the elementwise cases

# (case, rule as the spec names it, torch constructor, spec hyperparameters (torch names), shape)
CASES = [
    ("sgd_plain", "sgd", torch.optim.SGD, dict(lr=0.05, weight_decay=0.01, maximize=True), VEC),
    ("sgd_momentum", "sgd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), VEC),
    ("sgd_nesterov", "sgd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001), VEC),
    ("rmsprop_plain", "rmsprop", torch.optim.RMSprop, dict(lr=0.01, alpha=0.95, eps=1e-8, weight_decay=0.01), VEC),
    ("rmsprop_centered", "rmsprop", torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, centered=True), VEC),
    ("rmsprop_momentum", "rmsprop", torch.optim.RMSprop, dict(lr=0.01, alpha=0.99, momentum=0.9, weight_decay=0.001), VEC),
    ("adam", "adam", torch.optim.Adam, dict(lr=0.01, betas=(0.85, 0.99), eps=1e-8, weight_decay=0.01), VEC),
    ("adamw", "adamw", torch.optim.AdamW, dict(lr=0.01, betas=(0.9, 0.995), eps=1e-7, weight_decay=0.1), VEC),
    ("adam_amsgrad", "adam", torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.95), eps=1e-8, amsgrad=True), VEC),
    ("adamax", "adamax", torch.optim.Adamax,
     dict(lr=0.01, betas=(0.85, 0.99), eps=1e-6, weight_decay=0.01, maximize=True), VEC),
    ("nadam", "nadam", torch.optim.NAdam,
     dict(lr=0.01, betas=(0.85, 0.99), eps=1e-7, weight_decay=0.05, momentum_decay=0.01, decoupled_weight_decay=True), VEC),
    # beta2=0.9: RAdam's first 5 steps unrectified, the other 15 rectified.
    ("radam", "radam", torch.optim.RAdam, dict(lr=0.01, betas=(0.8, 0.9), eps=1e-7, weight_decay=0.01, maximize=True), VEC),
    ("adagrad", "adagrad", torch.optim.Adagrad,
     dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-8, maximize=True), VEC),
    ("adadelta", "adadelta", torch.optim.Adadelta, dict(lr=0.5, rho=0.85, eps=1e-5, weight_decay=0.01, maximize=True), VEC),
    # t0=5.5: ax copies the parameter on steps 1 to 7 and averages from step 8 (mu = 1/max(1, step - t0) after each step).
    ("asgd", "asgd", torch.optim.ASGD, dict(lr=0.05, lambd=0.01, alpha=0.6, t0=5.5, weight_decay=0.01, maximize=True), VEC),
    ("muon", "muon", torch.optim.Muon, dict(lr=0.02, weight_decay=0.1, momentum=0.95, nesterov=True), (8, 6)),
    ("muon_wide", "muon", torch.optim.Muon,
     dict(lr=0.01, weight_decay=0.05, momentum=0.9, nesterov=False, adjust_lr_fn="match_rms_adamw"), (5, 9)),
    # etas and step_sizes as pairs, like betas; sign changes on most steps exercise both etas and the clamps.
    ("rprop", "rprop", torch.optim.Rprop,
     dict(lr=0.02, etas=(0.4, 1.3), step_sizes=(1e-4, 0.05), maximize=True), VEC),
    # Adafactor: a 2-D parameter (factored row and column moments) with weight decay, and a vector (one moment).
    ("adafactor", "adafactor", torch.optim.Adafactor,
     dict(lr=0.02, beta2_decay=-0.7, eps=(1e-20, 1e-3), d=1.5, weight_decay=0.05), (6, 5)),
    ("adafactor_vector", "adafactor", torch.optim.Adafactor,
     dict(lr=0.01, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=True), VEC),
]


def spec_hypers(h):
    """torch keyword arguments as the spec's hyperparameters: betas split into beta1/beta2; other pairs (Rprop's
    etas and step_sizes, Adafactor's eps) stay lists, Adafactor's eps1 None stays null (torch takes the dtype's eps)."""
    out = {}
    for k, v in h.items():
        if k == "betas":
            out["beta1"], out["beta2"] = v
        else:
            out[k] = list(v) if isinstance(v, tuple) else v
    return out


def run_case(out, idx, case, rule, ctor, hypers, shape):
    gen = torch.Generator().manual_seed(1000 + idx)
    p0 = torch.randn(shape, generator=gen, dtype=torch.float64)
    grads = torch.randn((STEPS,) + shape, generator=gen, dtype=torch.float64)
    p = p0.clone().requires_grad_(True)
    # torch keeps 0-dim state (NAdam's mu_product, ASGD's eta and mu) in float32 unless the default dtype is float64;
    # the spec computes it in float64, so those rules run with a float64 default (the others' state is unaffected).
    torch.set_default_dtype(torch.float64 if rule in FLOAT64_SCALAR_STATE else torch.float32)
    opt = ctor([p], foreach=False, **hypers) if rule != "muon" else ctor([p], **hypers)
    ns = []
    for t in range(STEPS):
        g = grads[t].clone()
        if rule == "muon":
            group = opt.param_groups[0]
            buf = opt.state[p].get("momentum_buffer", torch.zeros_like(g)).clone()
            buf.lerp_(g, 1 - group["momentum"])
            upd = g.lerp(buf, group["momentum"]) if group["nesterov"] else buf
            extra = [group["use_addmm"]] if "use_addmm" in group else []  # use_addmm is newer than 2.11
            ns.append(_muon._zeropower_via_newtonschulz(
                upd, group["ns_coefficients"], group["ns_steps"], group["eps"], *extra).double())
        p.grad = g
        opt.step()
    d = os.path.join(out, case)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "param0.npy"), p0.numpy())
    np.save(os.path.join(d, "grads.npy"), grads.numpy())
    np.save(os.path.join(d, "param.npy"), p.detach().numpy())
    buffers = []
    scalars = {}
    for name, v in opt.state[p].items():
        if name == "step":
            continue
        if v.dim() == 0:  # per-step scalars torch keeps as tensors (NAdam's mu_product): the spec derives them from the step
            scalars[name] = float(v)
            continue
        np.save(os.path.join(d, name + ".npy"), v.detach().to(torch.float64).numpy())
        buffers.append(name)
    if ns:
        np.save(os.path.join(d, "ns.npy"), torch.stack(ns).numpy())
    group = {k: (list(v) if isinstance(v, tuple) else v) for k, v in opt.param_groups[0].items() if k != "params"}
    group = {k: (float(v) if isinstance(v, torch.Tensor) else v) for k, v in group.items()}
    manifest = dict(rule=rule, steps=STEPS, shape=list(shape), hypers=spec_hypers(hypers), buffers=sorted(buffers),
                    scalars=scalars, torch_group=group, torch_version=torch.__version__, seed=1000 + idx)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def main():
    out = sys.argv[1]
    torch.set_num_threads(1)
    for idx, (case, rule, ctor, hypers, shape) in enumerate(CASES):
        run_case(out, idx, case, rule, ctor, hypers, shape)
        print("wrote", case)


if __name__ == "__main__":
    main()
