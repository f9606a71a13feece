"""fp32 parity data: torch.optim's CPU single-tensor path (foreach=False, one thread) in float32 for 20 steps, every
case on two shapes: "full" (64x32, whole vectors of every CPU width) and "ragged" (3x37 = 111 elements: ATen's
vectorised loops take 2 vectors per iteration, so 96 elements run vectorised and the last 15 run its scalar code on
both AVX2 and AVX-512).

Writes into OUT_DIR:
  data_<shape>/param0.npy, grads.npy (steps x shape): the same seeded float32 data for every case of that shape.
  <case>_<shape>/param.npy (final parameter), one .npy per state buffer (torch's names, float32), trajectory.npy (the
    parameter after every step, steps x shape), manifest.json (rule, torch hyperparameters, torch's param group,
    0-dim state under "scalars", torch version, ATen's CPU capability).
  ops/<op>.npy: single ATen float32 operations on 111 seeded elements (rows: inputs a, b, c, then the output), the
    scalars in ops/ops.json: which operations round once (fused multiply-add) and which twice, vectorised and in the tail.
Usage: python3 make_fp32_golden.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch

STEPS = 20  # steps per case
SHAPES = {"full": (64, 32), "ragged": (3, 37)}
O = torch.optim
# (case, rule as S3gd names it, torch constructor, torch keyword arguments)
CASES = [
    ("sgd_momentum", "sgd", O.SGD, dict(lr=0.05, momentum=0.9)),
    ("sgd_nesterov", "sgd", O.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", "sgd", O.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("rmsprop", "rmsprop", O.RMSprop, dict(lr=0.01)),
    ("rmsprop_centered_momentum", "rmsprop", O.RMSprop, dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.01)),
    ("adam", "adam", O.Adam, dict(lr=0.01, weight_decay=0.01)),
    ("adamw", "adamw", O.AdamW, dict(lr=0.01)),
    ("adam_amsgrad", "adam", O.Adam, dict(lr=0.01, amsgrad=True)),
    ("adamax", "adamax", O.Adamax, dict(lr=0.01, weight_decay=0.01)),
    ("nadam", "nadam", O.NAdam, dict(lr=0.01, weight_decay=0.01)),
    ("nadam_decoupled", "nadam", O.NAdam, dict(lr=0.01, weight_decay=0.01, decoupled_weight_decay=True)),
    ("radam", "radam", O.RAdam, dict(lr=0.01, weight_decay=0.01)),
    ("radam_decoupled", "radam", O.RAdam, dict(lr=0.01, weight_decay=0.01, decoupled_weight_decay=True)),
    ("adagrad", "adagrad", O.Adagrad, dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("adadelta", "adadelta", O.Adadelta, dict(lr=1.0, weight_decay=0.01)),
    ("rprop", "rprop", O.Rprop, dict(lr=0.01)),
    ("asgd", "asgd", O.ASGD, dict(lr=0.01, t0=5.0, weight_decay=0.01)),
    ("adafactor", "adafactor", O.Adafactor, dict(lr=0.01, weight_decay=0.01)),
]


def plain(v):
    """A param-group value as JSON: tuples as lists, tensors as floats."""
    if isinstance(v, tuple):
        return [plain(x) for x in v]
    return float(v) if isinstance(v, torch.Tensor) else v


def save(path, t):
    np.save(path, t.detach().cpu().numpy())


def make_data(out, shape_name, shape, seed):
    gen = torch.Generator().manual_seed(seed)
    p0 = torch.randn(shape, generator=gen, dtype=torch.float32)
    grads = torch.randn((STEPS,) + shape, generator=gen, dtype=torch.float32)
    d = os.path.join(out, "data_" + shape_name)
    os.makedirs(d, exist_ok=True)
    save(os.path.join(d, "param0.npy"), p0)
    save(os.path.join(d, "grads.npy"), grads)
    return p0, grads


def run_case(out, case, rule, ctor, hypers, shape_name, p0, grads):
    p = p0.clone().requires_grad_(True)
    opt = ctor([p], foreach=False, **hypers)
    traj = []
    for t in range(STEPS):
        p.grad = grads[t].clone()
        opt.step()
        traj.append(p.detach().clone())
    d = os.path.join(out, case + "_" + shape_name)
    os.makedirs(d, exist_ok=True)
    save(os.path.join(d, "param.npy"), p)
    save(os.path.join(d, "trajectory.npy"), torch.stack(traj))
    buffers, scalars = [], {}
    for name, v in opt.state[p].items():
        if name == "step":
            continue
        if v.dim() == 0:
            scalars[name] = float(v)
            continue
        save(os.path.join(d, name + ".npy"), v)
        buffers.append(name)
    group = {k: plain(v) for k, v in opt.param_groups[0].items() if k != "params"}
    manifest = dict(rule=rule, steps=STEPS, shape=list(p.shape), hypers={k: plain(v) for k, v in hypers.items()},
                    buffers=sorted(buffers), scalars=scalars, torch_group=group, torch_version=torch.__version__,
                    cpu_capability=torch.backends.cpu.get_cpu_capability(), data="data_" + shape_name)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def probe_ops(out):
    """Single float32 ATen operations with Python-float scalars, as the optimizers call them."""
    gen = torch.Generator().manual_seed(77)
    n = 111
    a = torch.randn(n, generator=gen)
    b = torch.randn(n, generator=gen)
    c = torch.rand(n, generator=gen) + 0.01
    ops = {
        "add_alpha": (lambda: a.add(b, alpha=0.013), dict(alpha=0.013)),
        "sub_alpha": (lambda: a.sub(b, alpha=0.013), dict(alpha=0.013)),
        "mul_scalar": (lambda: a.mul(0.999), dict(s=0.999)),
        "div_scalar": (lambda: a.div(1.0009), dict(s=1.0009)),
        "div_tensor": (lambda: a.div(c), {}),
        "lerp_small": (lambda: a.lerp(b, 0.1), dict(weight=0.1)),
        "lerp_large": (lambda: a.lerp(b, 0.9), dict(weight=0.9)),
        "addcmul_same": (lambda: c.addcmul(b, b, value=0.001), dict(value=0.001)),
        "addcmul": (lambda: a.addcmul(b, c, value=0.3), dict(value=0.3)),
        "addcdiv": (lambda: a.addcdiv(b, c, value=-0.01), dict(value=-0.01)),
        "sqrt": (lambda: c.sqrt(), {}),
        "rsqrt": (lambda: c.rsqrt(), {}),
        "sqrt_div_add": (lambda: (c.sqrt() / 0.987).add_(1e-8), dict(s=0.987, eps=1e-8)),
        "mul_add_alpha": (lambda: a.mul(0.9).add_(b, alpha=0.1), dict(s=0.9, alpha=0.1)),
        "add_scalar": (lambda: a.add(0.37), dict(s=0.37)),
        "mul_tensor": (lambda: a.mul(b), {}),
        "maximum": (lambda: torch.maximum(a, b), {}),
        "sign": (lambda: a.sign(), {}),
        "clamp": (lambda: a.clamp(-0.5, 0.5), dict(lo=-0.5, hi=0.5)),
        "abs_add": (lambda: a.abs().add_(1e-8), dict(eps=1e-8)),
    }
    d = os.path.join(out, "ops")
    os.makedirs(d, exist_ok=True)
    scalars = {}
    for name, (f, s) in ops.items():
        np.save(os.path.join(d, name + ".npy"), torch.stack([a, b, c, f()]).numpy())
        scalars[name] = s
    with open(os.path.join(d, "ops.json"), "w") as fh:
        json.dump(dict(scalars=scalars, rows=["a", "b", "c", "out"], n=n,
                       cpu_capability=torch.backends.cpu.get_cpu_capability(), torch_version=torch.__version__),
                  fh, indent=1, sort_keys=True)


def main():
    out = sys.argv[1]
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    for i, (shape_name, shape) in enumerate(SHAPES.items()):
        p0, grads = make_data(out, shape_name, shape, 5000 + i)
        for case, rule, ctor, hypers in CASES:
            run_case(out, case, rule, ctor, hypers, shape_name, p0, grads)
            print("wrote", case, shape_name)
    probe_ops(out)
    print("capability", torch.backends.cpu.get_cpu_capability())


if __name__ == "__main__":
    main()
