#!/usr/bin/env python3
"""Reference values from PyTorch for gradus-nn's attention layers
(embeddings, multi-head self-attention, the transformer encoder layer).

Writes crates/nn/tests/data/pytorch_attention.txt in the format of
scripts/torch_sequence.py: one line per array, `case key shape values…`:
the input `input0`, the parameters `input1…` in torch's order (which is
gradus's), a cotangent `cot`, the output `out` and the gradients `grad0`
(absent for integer tokens), `grad1, …` of sum(out * cot), in float64.
Run by hand (`python3 scripts/torch_attention.py` with torch installed);
the tests read the file and never need PyTorch.
"""
import torch

from reference_data import Out, Uniform

torch.set_default_dtype(torch.float64)
rand = Uniform(31, -1.5, 1.5)
out = Out("torch_attention.py")


def case(name, module, x, run, tokens=False):
    params = list(module.parameters())
    with torch.no_grad():
        for p in params:
            p.copy_(rand(*p.shape))
    if not tokens:
        x.requires_grad_(True)
    y = run(module, x)
    cot = rand(*y.shape)
    (y * cot).sum().backward()
    out.put_case(name, x, params, cot, y, with_input_grad=not tokens)


def self_attention(causal):
    def run(m, x):
        t = x.shape[1]
        mask = torch.nn.Transformer.generate_square_subsequent_mask(t) if causal else None
        return m(x, x, x, attn_mask=mask, is_causal=causal, need_weights=False)[0]

    return run


def encoder(causal):
    def run(m, x):
        t = x.shape[1]
        mask = torch.nn.Transformer.generate_square_subsequent_mask(t) if causal else None
        return m(x, src_mask=mask, is_causal=causal)

    return run


def mha(e, h, bias=True):
    return torch.nn.MultiheadAttention(e, h, bias=bias, batch_first=True)


case("mha_one_head", mha(4, 1), rand(2, 3, 4), self_attention(False))
case("mha_three_heads", mha(6, 3), rand(2, 4, 6), self_attention(False))
case("mha_causal", mha(4, 2), rand(2, 5, 4), self_attention(True))
case("mha_one_step", mha(4, 2), rand(3, 1, 4), self_attention(True))
case("mha_no_bias", mha(4, 2, bias=False), rand(2, 3, 4), self_attention(False))


def layer(d, h, ff, **kw):
    return torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, batch_first=True, **kw)


case("transformer_post_relu", layer(4, 2, 8), rand(2, 3, 4), encoder(False))
case("transformer_pre_gelu_causal", layer(6, 3, 5, activation="gelu", norm_first=True), rand(2, 4, 6), encoder(True))
case("transformer_post_causal", layer(4, 1, 6), rand(3, 4, 4), encoder(True))
case("transformer_no_bias", layer(4, 2, 6, bias=False, layer_norm_eps=1e-3), rand(2, 3, 4), encoder(False))

tokens = torch.tensor([[1, 0, 3, 3], [2, 4, 0, 1]])
case("embedding", torch.nn.Embedding(5, 3), tokens, lambda m, x: m(x), tokens=True)
emb = torch.nn.Embedding(5, 3, padding_idx=0)
case("embedding_padding", emb, tokens, lambda m, x: m(x), tokens=True)

out.write("crates/nn/tests/data/pytorch_attention.txt")
