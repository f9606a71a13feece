#!/usr/bin/env python3
"""Times torch.optim.Muon on the 48 block matrices of GPT-2 small and prints it beside `s3gd bench --rule muon`.

Shapes: 12 blocks of (qkv 2304x768, proj 768x768, fc 3072x768, fc-proj 768x3072), float32 parameters and gradients,
torch's defaults (5 Newton-Schulz steps in bf16). Each step is timed with CUDA events after warm-up; the median is
reported with the Newton-Schulz TFLOP/s over the step's time (4 m^2 n + 2 m^3 per matrix and iteration, m <= n),
the same count `s3gd bench` uses. The bar: ours at most a third of torch's step time.

Usage: python3 bench_muon.py [--ours muon.csv] [--iterations 20] [--out DIR]
"""
import argparse
import csv
import os
import statistics

import torch

BLOCKS = 12
BLOCK_SHAPES = [(2304, 768), (768, 768), (3072, 768), (768, 3072)]
WARMUP = 3
NS_STEPS = 5
BAR = 1.0 / 3.0  # ours must take at most this share of torch's step time


def ns_flops(shapes, steps):
    """Newton-Schulz FLOPs of one step: per matrix and iteration X X^T, A A and B X on the wide orientation."""
    total = 0.0
    for rows, cols in shapes:
        m, n = min(rows, cols), max(rows, cols)
        total += 4.0 * m * m * n + 2.0 * m * m * m
    return steps * total


def time_torch(shapes, iterations):
    """Median milliseconds of torch.optim.Muon's step (CUDA events), after warm-up."""
    generator = torch.Generator(device="cuda").manual_seed(1)
    params = [torch.zeros(s, device="cuda", requires_grad=True) for s in shapes]
    for p in params:
        p.grad = torch.rand(p.shape, device="cuda", generator=generator) * 2 - 1
    optimizer = torch.optim.Muon(params, ns_steps=NS_STEPS)
    for _ in range(WARMUP):
        optimizer.step()
    torch.cuda.synchronize()
    times = []
    for _ in range(iterations):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        optimizer.step()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def read_ours(path):
    """The gpt2-blocks row of `s3gd bench --rule muon`'s muon.csv, or None."""
    if not path or not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["case"] == "gpt2-blocks":
                return row
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours", help="muon.csv written by `s3gd bench --rule muon --out DIR`")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--out", help="folder for muon_torch.csv")
    args = parser.parse_args()
    if args.iterations < 1:
        parser.error(f"--iterations must be at least 1, was {args.iterations}")
    shapes = BLOCK_SHAPES * BLOCKS
    flops = ns_flops(shapes, NS_STEPS)
    torch_ms = time_torch(shapes, args.iterations)
    device = torch.cuda.get_device_name()
    print(f"device: {device}, torch {torch.__version__}")
    print(f"{'who':<24} {'ms':>9} {'NS TFLOP/s':>11}")
    print(f"{'torch.optim.Muon':<24} {torch_ms:9.3f} {flops / (torch_ms * 1e-3) / 1e12:11.1f}")
    ours = read_ours(args.ours)
    if ours is None:
        print(f"(no s3gd row: {args.ours or 'pass --ours muon.csv'})")
    else:
        ours_ms = float(ours["ms"])
        print(f"{'s3gd (' + ours['groups'] + ' groups)':<24} {ours_ms:9.3f} {float(ours['tflops']):11.1f}")
        share = ours_ms / torch_ms
        verdict = "meets" if share <= BAR else "misses"
        print(f"s3gd / torch = {share:.3f} ({torch_ms / ours_ms:.2f}x faster); {verdict} the bar of {BAR:.3f}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "muon_torch.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["device", "case", "ms", "ns_flops", "tflops"])
            w.writerow([device, "gpt2-blocks", repr(torch_ms), repr(flops), repr(flops / (torch_ms * 1e-3) / 1e12)])


if __name__ == "__main__":
    main()
