#!/usr/bin/env python3
"""bench_torch.py: the porta-bench train workloads in PyTorch, for a side-by-side ratio.

    python3 bench_torch.py --workload fashion-cnn|fashion-mlp|gpt-small [--steps N]
                           [--threads N] [--device cpu|cuda]

Builds the same model as porta-train (same layers and sizes), trains it with
AdamW on random data of the same shapes, and prints one JSON object:
{"workload": ..., "torch_ms_per_step": ..., "torch_device": ..., "threads": ...}.
The learning-rate schedule is left out: it costs PyTorch nothing measurable.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.classifier(F.relu(self.fc1(x.flatten(1))))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512)
        self.fc2 = nn.Linear(512, 256)
        self.classifier = nn.Linear(256, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x.flatten(1)))
        return self.classifier(F.relu(self.fc2(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim)
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.ln_2 = nn.LayerNorm(dim)
        self.c_fc = nn.Linear(dim, 4 * dim)
        self.mlp_proj = nn.Linear(4 * dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        # the math porta does: scores, masked softmax, weighted sum
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        a = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        x = x + self.c_proj(a.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab=256, context=128, layers=4, heads=4, dim=128):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(context, dim)
        self.h = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True, choices=["fashion-cnn", "fashion-mlp", "gpt-small"])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(1)
    if a.workload == "gpt-small":
        model = GPT().to(dev)
        x = torch.randint(0, 256, (16, 128), device=dev)
        y = torch.randint(0, 256, (16, 128), device=dev)
        loss_fn = lambda: F.cross_entropy(model(x).view(-1, 256), y.view(-1))
    else:
        model = (CNN() if a.workload == "fashion-cnn" else MLP()).to(dev)
        x = torch.randn(64, 1, 28, 28, device=dev)
        y = torch.randint(0, 10, (64,), device=dev)
        loss_fn = lambda: F.cross_entropy(model(x), y)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1e3 / a.steps
    print(json.dumps({"workload": a.workload, "torch_ms_per_step": ms, "torch_device": a.device,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
