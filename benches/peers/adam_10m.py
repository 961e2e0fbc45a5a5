"""PyTorch's Adam on 10M f32 parameters (default, foreach, fused), median of
30 timed steps after warm-up: the peer of gradus's `ratios optim` table.
Usage: python benches/peers/adam_10m.py [threads]"""
import statistics
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
n = 10_000_000
for mode in ["default", "foreach", "fused"]:
    p = torch.nn.Parameter(torch.full((n,), 0.5))
    p.grad = (torch.arange(n) % 1000 - 500).float() * 1e-3
    kw = {"foreach": False} if mode == "default" else {mode: True}
    opt = torch.optim.Adam([p], lr=1e-3, **kw)
    for _ in range(3):
        opt.step()
    times = []
    for _ in range(30):
        t = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t)
    print(f"{mode}: {statistics.median(times) * 1e3:.2f} ms ({threads} threads)")
