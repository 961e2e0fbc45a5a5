#!/usr/bin/env python3
"""The byte-level decoder of docs/guide.md ("A transformer on text") in
PyTorch, trained as `gradus train --data text` trains it: the same files
(each one's last 10% held out), windows of --context bytes at random starts
(as many per epoch as the training bytes hold whole), the same model,
AdamW and per-batch cosine schedule, the same number of steps. Prints the
validation loss (mean cross-entropy over every position of the held-out
windows, in nats and bits per byte) after each epoch, and the time.

    /opt/torchenv/bin/python scripts/torch_text.py --epochs 30 --lr 2e-3 \
        /usr/share/common-licenses/*

Needs torch; nothing in the tests runs it.
"""
import argparse
import math
import os
import time

import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("files", nargs="+")
p.add_argument("--context", type=int, default=128)
p.add_argument("--d-model", type=int, default=128)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--ff", type=int, default=512)
p.add_argument("--dropout", type=float, default=0.1)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--epochs", type=int, default=30)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=2)
args = p.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)

files = sorted({os.path.realpath(f) for f in args.files if os.path.isfile(f)})
train_bytes, test_bytes = b"", b""
for f in files:
    data = open(f, "rb").read()
    cut = len(data) - len(data) // 10
    train_bytes += data[:cut]
    test_bytes += data[cut:]
train = torch.tensor(list(train_bytes), dtype=torch.long)
test = torch.tensor(list(test_bytes), dtype=torch.long)
T = args.context


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        d = args.d_model
        self.emb = nn.Embedding(256, d)
        self.pos = nn.Parameter(torch.randn(T, d))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(d, args.heads, args.ff, args.dropout, batch_first=True, norm_first=True)
            for _ in range(args.layers)
        )
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 256)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

    def forward(self, x):
        t = x.shape[1]
        h = self.emb(x) + self.pos[:t]
        for layer in self.layers:
            h = layer(h, src_mask=self.mask[:t, :t], is_causal=True)
        return self.head(self.norm(h))


model = Decoder()
print("parameters", sum(p.numel() for p in model.parameters()))
windows = len(train) // T
steps_per_epoch = math.ceil(windows / args.batch_size)
total = steps_per_epoch * args.epochs
opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
starts_test = torch.arange(0, (len(test) - 1) // T) * T
loss_fn = nn.CrossEntropyLoss()


def evaluate():
    model.eval()
    with torch.no_grad():
        total_loss, n = 0.0, 0
        for b in range(0, len(starts_test), 64):
            s = starts_test[b : b + 64]
            x = torch.stack([test[i : i + T] for i in s])
            y = torch.stack([test[i + 1 : i + T + 1] for i in s])
            total_loss += loss_fn(model(x).reshape(-1, 256), y.reshape(-1)).item() * len(s)
            n += len(s)
    model.train()
    return total_loss / n


g = torch.Generator().manual_seed(args.seed)
starts = torch.randint(0, len(train) - T, (windows,), generator=g)
began = time.time()
for epoch in range(1, args.epochs + 1):
    order = starts[torch.randperm(windows, generator=g)]
    for b in range(0, windows, args.batch_size):
        s = order[b : b + args.batch_size]
        x = torch.stack([train[i : i + T] for i in s])
        y = torch.stack([train[i + 1 : i + T + 1] for i in s])
        loss = loss_fn(model(x).reshape(-1, 256), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    v = evaluate()
    print(f"epoch {epoch} val_loss {v:.4f} val_bpb {v / math.log(2):.4f} time {time.time() - began:.1f}s", flush=True)
