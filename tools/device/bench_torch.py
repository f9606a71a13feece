#!/usr/bin/env python3
"""Times PyTorch's optimizer steps on the cases `s3gd bench` runs and prints them beside ours.

Cases: one tensor of 1M, 16M and 64M parameters (M = 2^20) and the GPT-2-small shapes (148 tensors, 124M parameters).
Optimizers: torch.optim.AdamW(fused=True), the foreach versions of Adam, SGD (momentum) and RMSprop, plain-PyTorch
S3GD and Lion steps written with foreach ops, and the S3GD reference's Triton step (bf16 maths, fp8 e4m3 momentum).
Each step is timed with CUDA events after warm-up, rotating over enough sets of tensors that L2 cannot serve them
(as `s3gd bench` does); the median is reported with the bytes a step must move, GB/s and the ratio to a device-to-device
copy of the same bytes measured in the same run.

Usage: python3 bench_torch.py [--ours bench.csv ...] [--sizes 1M,16M,64M] [--iterations 50] [--only NAME] [--out DIR]
"""
import argparse
import csv
import functools
import os
import statistics

import torch

ROTATION_BYTES = 512 * 1024 * 1024  # ten times an H100's 50 MB L2
MAX_SETS = 16
WARMUP = 3


def gpt2_lengths():
    """GPT-2 small's parameter sizes in named_parameters() order: embeddings, 12 blocks, final layer norm."""
    vocab, context, width, mlp = 50257, 1024, 768, 3072
    block = [width, width, 3 * width * width, 3 * width, width * width, width, width, width,
             mlp * width, mlp, width * mlp, width]
    return [vocab * width, context * width] + block * 12 + [width, width]


def parse_size(s):
    s = s.strip().upper()
    if s.endswith("M"):
        return int(s[:-1]) << 20
    if s.endswith("K"):
        return int(s[:-1]) << 10
    return int(s)


def show_size(n):
    return f"{n >> 20}M" if n % (1 << 20) == 0 else str(n)


def s3gd_step(params, grads, moms, lr=1e-4, beta=0.9, wd=1e-2):
    """The S3GD reference's step (smoothed_sign_sgd_pytorch.py) with foreach ops: decay, EMA of signs, step."""
    torch._foreach_mul_(params, 1.0 - lr * wd)
    torch._foreach_mul_(moms, beta)
    torch._foreach_add_(moms, torch._foreach_sign(grads), alpha=1.0 - beta)
    torch._foreach_add_(params, moms, alpha=-lr)


def lion_step(params, grads, moms, lr=1e-4, beta1=0.9, beta2=0.99, wd=1e-2):
    """Lion (lion-pytorch's update_fn) with foreach ops."""
    torch._foreach_mul_(params, 1.0 - lr * wd)
    update = torch._foreach_lerp(moms, grads, 1.0 - beta1)
    torch._foreach_sign_(update)
    torch._foreach_add_(params, update, alpha=-lr)
    torch._foreach_lerp_(moms, grads, 1.0 - beta2)


@functools.cache
def s3gd_triton_kernel():
    """
    The S3GD reference's Triton step (WhyPhyLabs/s3gd, smoothed_sign_sgd/triton.py) written out: one program per block
    of elements, autotuned between its two configurations (128 elements and 4 warps, 1024 and 8), its operations on bf16
    values, the momentum stored as fp8 e4m3 without a scale (8 bytes a parameter). Built on first use, so that the
    other cases run where Triton is missing.
    """
    import triton
    import triton.language as tl

    @triton.autotune(configs=[triton.Config({"BLOCK": 128}, num_warps=4), triton.Config({"BLOCK": 1024}, num_warps=8)],
                     key=["n"], restore_value=["p_ptr", "m_ptr"])
    @triton.jit
    def kernel(p_ptr, g_ptr, m_ptr, lr, wd, beta, n, BLOCK: tl.constexpr):
        offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offsets < n
        p = tl.load(p_ptr + offsets, mask=mask)
        g = tl.load(g_ptr + offsets, mask=mask)
        m = tl.load(m_ptr + offsets, mask=mask).to(tl.bfloat16)
        lr_, wd_, beta_ = tl.full((), lr, tl.bfloat16), tl.full((), wd, tl.bfloat16), tl.full((), beta, tl.bfloat16)
        p = p * (1 - lr_ * wd_)
        sign = tl.where(g > 0, 1.0, tl.where(g < 0, -1.0, 0.0))
        m = beta_ * m + (1.0 - beta_) * sign
        p = p - lr_ * m
        tl.store(p_ptr + offsets, p, mask=mask)
        tl.store(m_ptr + offsets, m.to(tl.float8e4nv), mask=mask)

    return lambda p, g, m, lr, wd, beta: kernel[lambda meta: (triton.cdiv(p.numel(), meta["BLOCK"]),)](
        p, g, m, lr, wd, beta, p.numel())


def s3gd_triton(params, grads, lr=1e-4, beta=0.9, wd=1e-2):
    """The reference's Triton step over bf16 tensors with fp8 momenta: a launch per tensor, as the reference steps."""
    moms = [torch.zeros(p.numel(), device="cuda", dtype=torch.float8_e4m3fn) for p in params]
    launch = s3gd_triton_kernel()

    def step():
        for p, g, m in zip(params, grads, moms):
            launch(p, g, m, lr, wd, beta)
    return step


class TorchCase:
    """A named optimizer on fp32 or bf16 tensors, with its bytes per parameter and the matching s3gd bench row."""

    def __init__(self, name, dtype, bytes_per_param, ours, make):
        self.name, self.dtype, self.bytes_per_param, self.ours, self.make = name, dtype, bytes_per_param, ours, make


def torch_optimizer(cls, **kw):
    def make(params, grads):
        for p, g in zip(params, grads):
            p.grad = g
        opt = cls(params, **kw)
        return opt.step
    return make


def manual(step_fn):
    def make(params, grads):
        moms = [torch.zeros_like(p) for p in params]
        return lambda: step_fn(params, grads, moms)
    return make


CASES = [
    # (our rule, state, param dtype) is the s3gd bench row each is compared with.
    TorchCase("AdamW fused", torch.float32, 28, ("adamw", "fp32", "fp32"),
              torch_optimizer(torch.optim.AdamW, lr=1e-3, weight_decay=1e-2, fused=True)),
    TorchCase("Adam foreach", torch.float32, 28, ("adam", "fp32", "fp32"),
              torch_optimizer(torch.optim.Adam, lr=1e-3, weight_decay=1e-4, foreach=True)),
    TorchCase("SGD momentum foreach", torch.float32, 20, ("sgd", "fp32", "fp32"),
              torch_optimizer(torch.optim.SGD, lr=1e-3, momentum=0.9, weight_decay=1e-4, foreach=True)),
    TorchCase("RMSprop foreach", torch.float32, 20, ("rmsprop", "fp32", "fp32"),
              torch_optimizer(torch.optim.RMSprop, lr=1e-2, weight_decay=1e-4, foreach=True)),
    TorchCase("S3GD foreach fp32", torch.float32, 20, ("s3gd", "fp32", "fp32"), manual(s3gd_step)),
    TorchCase("S3GD foreach bf16", torch.bfloat16, 10, ("s3gd", "bf16", "bf16"), manual(s3gd_step)),
    TorchCase("Lion foreach fp32", torch.float32, 20, ("lion", "fp32", "fp32"), manual(lion_step)),
    TorchCase("S3GD Triton bf16/fp8", torch.bfloat16, 8, ("s3gd", "fp8e4m3-unscaled", "bf16"), s3gd_triton),
]


def time_rotating(sets, iterations, run):
    for i in range(WARMUP * sets):
        run(i % sets)
    torch.cuda.synchronize()
    times = []
    for i in range(iterations):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run(i % sets)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def measure(case, lengths, iterations):
    params_count = sum(lengths)
    step_bytes = case.bytes_per_param * params_count
    sets = max(2, min(MAX_SETS, -(-ROTATION_BYTES // step_bytes)))
    steps = []
    for _ in range(sets):
        params = [torch.zeros(n, device="cuda", dtype=case.dtype) for n in lengths]
        grads = [torch.full((n,), 1e-3, device="cuda", dtype=case.dtype) for n in lengths]
        steps.append(case.make(params, grads))
    ms = time_rotating(sets, iterations, lambda k: steps[k]())
    del steps
    words = max(1, step_bytes // 2 // 4)
    copies = [(torch.empty(words, device="cuda"), torch.empty(words, device="cuda")) for _ in range(sets)]
    copy_ms = time_rotating(sets, iterations, lambda k: copies[k][1].copy_(copies[k][0]))
    del copies
    torch.cuda.empty_cache()
    gbps = step_bytes / (ms * 1e-3) / 1e9
    copy_gbps = 2 * 4 * words / (copy_ms * 1e-3) / 1e9
    return ms, step_bytes, gbps, copy_gbps


def read_ours(path):
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            rows[(r["rule"], r["state"], r["param"], r["case"])] = r
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", nargs="*", default=[], help="s3gd bench's bench.csv files, to print our times beside PyTorch's")
    ap.add_argument("--sizes", default="1M,16M,64M")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--only", help="run only the optimizers whose names contain this")
    ap.add_argument("--out", help="folder for bench_torch.csv")
    a = ap.parse_args()
    cases = [(show_size(parse_size(s)), [parse_size(s)]) for s in a.sizes.split(",")] + [("gpt2", gpt2_lengths())]
    ours = {}
    for path in a.ours:
        if os.path.exists(path):
            ours.update(read_ours(path))
    device = torch.cuda.get_device_name()
    print(f"PyTorch {torch.__version__} on {device}")
    header = f"{'optimizer':<22} {'case':<6} {'ms':>8} {'GB/s':>7} {'copy':>7} {'ratio':>6} | {'s3gd ms':>8} {'ratio':>6} {'speedup':>7}"
    print(header)
    rows = []
    for case in [c for c in CASES if not a.only or a.only in c.name]:
        for name, lengths in cases:
            ms, step_bytes, gbps, copy_gbps = measure(case, lengths, a.iterations)
            line = f"{case.name:<22} {name:<6} {ms:8.3f} {gbps:7.0f} {copy_gbps:7.0f} {gbps / copy_gbps:6.3f}"
            mine = ours.get(case.ours + (name,))
            if mine:
                line += f" | {float(mine['ms']):8.3f} {float(mine['ratio']):6.3f} {ms / float(mine['ms']):6.2f}x"
            print(line, flush=True)
            rows.append([device, case.name, name, sum(lengths), len(lengths), ms, step_bytes, gbps, copy_gbps, gbps / copy_gbps])
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "bench_torch.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["device", "optimizer", "case", "params", "tensors", "ms", "bytes", "gbps", "copy_gbps", "ratio"])
            w.writerows(rows)


if __name__ == "__main__":
    main()
