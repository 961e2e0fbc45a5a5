"""PyTorch's side of the scoreboard (`cargo xtask bench`): the same workloads
as gradus's benches/src/workloads.rs, in PyTorch eager with its fastest
settings (fused Adam), printing the same protocol lines:

    times t1 t2 ...            seconds per iteration, one per timed run
    faults_per_iteration f     minor page faults per iteration (getrusage)
    peak_rss_kib k             peak resident memory (ru_maxrss)
    threads t                  torch.get_num_threads()
    cpu_per_wall c             CPU seconds (all threads) per wall second while timing

Usage: python torch_workloads.py NAME --reps N --threads T [--data DIR]
Prints `unsupported NAME` (exit 3) for a workload it does not know.
"""
import argparse
import gzip
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from torch_items import Res  # noqa: E402


def mlp(act=torch.nn.ReLU):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        act(),
        torch.nn.Linear(256, 128),
        act(),
        torch.nn.Linear(128, 10),
    )


def trainer(model, optimizer=torch.optim.Adam):
    opt = optimizer(model.parameters(), lr=1e-3, fused=True)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def mlp_step(size, act=torch.nn.ReLU):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(size, 784, generator=g)
    y = torch.randint(0, 10, (size,), generator=g)
    step = trainer(mlp(act))
    return lambda: step(x, y)


def softmax_ce():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(512, 1000, generator=g)
    y = torch.randint(0, 1000, (512,), generator=g)

    def run():
        zl = z.detach().requires_grad_(True)
        F.cross_entropy(zl, y).backward()

    return run


def himmelblau():
    def run():
        x = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        for _ in range(1000):
            f = (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2
            f.backward()
            with torch.no_grad():
                x -= 0.01 * x.grad
                y -= 0.01 * y.grad
            x.grad = None
            y.grad = None

    return run


def adam_10m():
    n = 10_000_000
    p = torch.nn.Parameter(torch.full((n,), 0.5))
    p.grad = (torch.arange(n) % 1000 - 500).float() * 1e-3
    opt = torch.optim.Adam([p], lr=1e-3, fused=True)
    return opt.step


def read_idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def find(directory, stem):
    for name in (stem + "-ubyte.gz", stem + "-ubyte"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    sys.exit(f"no {stem} file in {directory}")


def epoch_fashion_mnist(directory):
    images = read_idx(find(directory, "train-images-idx3")).reshape(-1, 784)
    labels = read_idx(find(directory, "train-labels-idx1")).long()
    step = trainer(mlp())
    state = {"epoch": 0}

    def run():
        g = torch.Generator().manual_seed(state["epoch"])
        perm = torch.randperm(images.shape[0], generator=g)
        for i in range(0, images.shape[0], 128):
            idx = perm[i : i + 128]
            step(images[idx].float().div_(255), labels[idx])
        state["epoch"] += 1

    return run


def flushed(build):
    """`build()` with subnormals flushed to zero (x86 only)."""
    if not torch.set_flush_denormal(True):
        print("unsupported: this CPU cannot flush subnormals")
        sys.exit(3)
    return build()


def cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(1600, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )


def cnn_step(size):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(size, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (size,), generator=g)
    step = trainer(cnn())
    return lambda: step(x, y)


def bn_cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1),
        torch.nn.BatchNorm2d(32),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1),
        torch.nn.BatchNorm2d(64),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(3136, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )


def resnet():
    """examples/resnet.spec in PyTorch."""
    torch.manual_seed(0)
    nn = torch.nn

    def block(cin, cout, stride):
        body = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]
        shortcut = None if stride == 1 and cin == cout else [nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)]
        return Res(body, shortcut)

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Sequential(nn.Sequential(block(32, 32, 1), nn.ReLU()), nn.Sequential(block(32, 32, 1), nn.ReLU())),
        block(32, 64, 2), nn.ReLU(), block(64, 64, 1), nn.ReLU(),
        block(64, 128, 2), nn.ReLU(), block(128, 128, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
    )


def lstm_classifier():
    """The scoreboard's LSTM: Fashion-MNIST rows through LSTM(28, 128), the
    last step's state to Linear(128, 10)."""
    torch.manual_seed(0)
    lstm, head = torch.nn.LSTM(28, 128, batch_first=True), torch.nn.Linear(128, 10)

    class Rows(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = lstm, head

        def forward(self, x):
            return self.head(self.lstm(x.reshape(-1, 28, 28))[0][:, -1])

    return Rows()


def transformer_decoder():
    """The scoreboard's byte-level decoder (TRANSFORMER_DECODER)."""
    torch.manual_seed(0)
    d, t = 128, 128

    class Decoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(256, d)
            self.pos = torch.nn.Parameter(torch.randn(t, d))
            self.layers = torch.nn.ModuleList(
                torch.nn.TransformerEncoderLayer(d, 4, 512, 0.1, batch_first=True, norm_first=True) for _ in range(4)
            )
            self.norm = torch.nn.LayerNorm(d)
            self.head = torch.nn.Linear(d, 256)
            self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(t))

        def forward(self, x):
            h = self.emb(x) + self.pos[: x.shape[1]]
            for layer in self.layers:
                h = layer(h, src_mask=self.mask, is_causal=True)
            return self.head(self.norm(h)).reshape(-1, 256)

    return Decoder()


def text_step(model, size, context):
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (size, context), generator=g)
    y = torch.randint(0, 256, (size * context,), generator=g)
    step = trainer(model, torch.optim.AdamW)
    return lambda: step(x, y)


def image_step(model, size):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(size, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (size,), generator=g)
    step = trainer(model)
    return lambda: step(x, y)


def conv2d_fwd_bwd():
    torch.manual_seed(2)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    x = torch.randn(32, 64, 32, 32)

    def run():
        xl = x.detach().requires_grad_(True)
        conv.zero_grad(set_to_none=True)
        conv(xl).sum().backward()

    return run


def cnn_epoch_fashion_mnist(directory, model=cnn):
    images = read_idx(find(directory, "train-images-idx3")).reshape(-1, 1, 28, 28)
    labels = read_idx(find(directory, "train-labels-idx1")).long()
    step = trainer(model())
    state = {"epoch": 0}

    def run():
        g = torch.Generator().manual_seed(state["epoch"])
        perm = torch.randperm(images.shape[0], generator=g)
        for i in range(0, images.shape[0], 128):
            idx = perm[i : i + 128]
            step(images[idx].float().div_(255), labels[idx])
        state["epoch"] += 1

    return run


def matmul_1024():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(1024, 1024, generator=g)
    b = torch.randn(1024, 1024, generator=g)
    return lambda: torch.mm(a, b)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--reps", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--data")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    builders = {
        "mlp_step_b32": lambda: mlp_step(32),
        "mlp_step_b128": lambda: mlp_step(128),
        "mlp_step_b512": lambda: mlp_step(512),
        "tanh_mlp_step_b128": lambda: mlp_step(128, torch.nn.Tanh),
        "softmax_ce_512x1000": softmax_ce,
        "himmelblau_step": himmelblau,
        "adam_10m": adam_10m,
        "epoch_fashion_mnist": lambda: epoch_fashion_mnist(args.data),
        "epoch_fashion_mnist_flush": lambda: flushed(lambda: epoch_fashion_mnist(args.data)),
        "matmul_1024": matmul_1024,
        "cnn_step_b128": lambda: cnn_step(128),
        "conv2d_fwd_bwd": conv2d_fwd_bwd,
        "cnn_epoch_fashion_mnist": lambda: cnn_epoch_fashion_mnist(args.data),
        "bn_cnn_step_b128": lambda: image_step(bn_cnn(), 128),
        "resnet_step_b128": lambda: image_step(resnet(), 128),
        "lstm_step_b128": lambda: image_step(lstm_classifier(), 128),
        "transformer_step_b32": lambda: text_step(transformer_decoder(), 32, 128),
        "bn_cnn_epoch_fashion_mnist": lambda: cnn_epoch_fashion_mnist(args.data, bn_cnn),
    }
    if args.name not in builders:
        print(f"unsupported {args.name}")
        sys.exit(3)
    run = builders[args.name]()
    run()  # warm up
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    cpu, wall = time.process_time(), time.perf_counter()
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / args.iterations)
    cpu_per_wall = (time.process_time() - cpu) / (time.perf_counter() - wall)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("times " + " ".join(repr(t) for t in times))
    print(f"faults_per_iteration {(usage.ru_minflt - faults) / (args.reps * args.iterations)!r}")
    print(f"peak_rss_kib {usage.ru_maxrss}")
    print(f"threads {torch.get_num_threads()}")
    print(f"cpu_per_wall {cpu_per_wall!r}")
    print(f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
