"""Golden parity data for Adam-mini's partition: the official implementation (zyushun/Adam-mini
adam_mini/adam_mini.py, version 1.1.1, given by path) in float64 on the CPU for 5 steps over named parameters with
Llama, GPT-2 and BERT names, all in one optimizer as its users build it.

Usage: python3 make_adam_mini_golden.py PATH/TO/adam_mini.py OUT_DIR

Writes one folder per parameter, adam_mini_NN, in the layout of make_golden.py: param0.npy, grads.npy (steps x
shape), param.npy, m.npy and vmean.npy (the official state flattened; for its per-element "bias" blocks the state
it names "v"), manifest.json (rule, the parameter's name and shape, the spec's hyperparameters, steps, versions).
The spec test runs Adam-mini with its default partition on each and must reproduce them.
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch

STEPS = 5
# Small transformer sizes: head size dim*dim/n_heads = 32 elements.
DIM, N_HEADS = 8, 2
HYPERS = dict(lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
# (name, shape): every kind of block of the official partition, and the names where the seed's partition differs.
PARAMS = [
    ("model.embed_tokens.weight", (16, 8)),
    ("model.layers.0.self_attn.q_proj.weight", (8, 8)),
    ("model.layers.0.self_attn.k_proj.weight", (8, 8)),
    ("model.layers.0.self_attn.v_proj.weight", (8, 8)),
    ("model.layers.0.self_attn.o_proj.weight", (8, 8)),
    ("model.layers.0.mlp.gate_proj.weight", (12, 8)),
    ("model.layers.0.input_layernorm.weight", (8,)),
    ("model.norm.weight", (8,)),
    ("lm_head.weight", (16, 8)),
    ("transformer.wte.weight", (16, 8)),
    ("transformer.h.0.ln_1.weight", (8,)),
    ("transformer.h.0.attn.c_attn.weight", (8, 24)),
    ("transformer.h.0.attn.c_attn.bias", (24,)),
    ("transformer.h.0.attn.c_proj.weight", (8, 8)),
    ("transformer.h.0.mlp.c_fc.weight", (8, 32)),
    ("bert.encoder.layer.0.attention.self.query.weight", (8, 8)),
    ("bert.encoder.layer.0.attention.self.key.bias", (8,)),
    ("bert.encoder.layer.0.attention.output.dense.weight", (8, 8)),
]


def load_official(path):
    spec = importlib.util.spec_from_file_location("adam_mini_official", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Adam_mini


def main():
    adam_mini, out = load_official(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(1)
    params, data = [], []
    for idx, (name, shape) in enumerate(PARAMS):
        gen = torch.Generator().manual_seed(3000 + idx)
        p0 = torch.randn(shape, generator=gen, dtype=torch.float64)
        grads = torch.randn((STEPS,) + shape, generator=gen, dtype=torch.float64)
        p = torch.nn.Parameter(p0.clone())
        params.append((name, p))
        data.append((name, shape, p0, grads, p))
    opt = adam_mini(params, dim=DIM, n_heads=N_HEADS, verbose=False, **HYPERS)
    for t in range(STEPS):
        for _, _, _, grads, p in data:
            p.grad = grads[t].clone()
        opt.step()
    version = "1.1.1" if "version 1.1.1" in (adam_mini.__init__.__doc__ or "") else "unknown"
    for idx, (name, shape, p0, grads, p) in enumerate(data):
        d = os.path.join(out, "adam_mini_%02d" % idx)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "param0.npy"), p0.numpy())
        np.save(os.path.join(d, "grads.npy"), grads.numpy())
        np.save(os.path.join(d, "param.npy"), p.detach().numpy())
        state = opt.state[p]
        np.save(os.path.join(d, "m.npy"), state["m"].detach().reshape(-1).numpy())
        second = state["v"] if "v" in state else state["vmean"]
        np.save(os.path.join(d, "vmean.npy"), second.detach().reshape(-1).to(torch.float64).numpy())
        manifest = dict(rule="adam-mini", param_name=name, shape=list(shape), steps=STEPS,
                        hypers=dict(lr=HYPERS["lr"], beta1=HYPERS["betas"][0], beta2=HYPERS["betas"][1],
                                    eps=HYPERS["eps"], weight_decay=HYPERS["weight_decay"], dim=DIM, n_heads=N_HEADS),
                        buffers=["m", "vmean"], official_second_moment="v" if "v" in state else "vmean",
                        adam_mini_version=version, torch_version=torch.__version__, seed=3000 + idx)
        with open(os.path.join(d, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
        print("wrote", d, name)


if __name__ == "__main__":
    main()
