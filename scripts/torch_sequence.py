#!/usr/bin/env python3
"""Reference values from PyTorch for gradus-nn's sequence layers (LSTM, GRU).

Writes crates/nn/tests/data/pytorch_sequence.txt in the format of
scripts/reference_data.py: one line per array, `case key shape values…`.
For each case: the input `input0`, the parameters `input1…` in torch's
order (which is gradus's), a cotangent `cot`, the output `out` and the
gradients `grad0, grad1, …` of sum(out * cot), all in float64. Run by hand
(`python3 scripts/torch_sequence.py` with torch installed); the tests read
the file and never need PyTorch.
"""
import torch

from reference_data import Out, Uniform

torch.set_default_dtype(torch.float64)
rand = Uniform(29, -1.5, 1.5)
out = Out("torch_sequence.py")


def case(name, module, n, t):
    x = rand(n, t, module.input_size).requires_grad_(True)
    params = list(module.parameters())
    with torch.no_grad():
        for p in params:
            p.copy_(rand(*p.shape))
    y, _ = module(x)
    cot = rand(*y.shape)
    (y * cot).sum().backward()
    out.put_case(name, x, params, cot, y)


for kind, cls in [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
    case(f"{kind}_one_layer", cls(3, 4, batch_first=True), 2, 5)
    case(f"{kind}_one_step", cls(2, 3, batch_first=True), 3, 1)
    case(f"{kind}_no_bias", cls(3, 2, bias=False, batch_first=True), 2, 4)
    case(f"{kind}_two_layers_bidirectional", cls(3, 2, num_layers=2, bidirectional=True, batch_first=True), 2, 4)

out.write("crates/nn/tests/data/pytorch_sequence.txt")
