"""PyTorch modules for the gradus spec items that torch has no single class
for, with the same state-dict names, so a gradus checkpoint loads into them
unchanged. Imported by the PyTorch side of the scoreboard
(benches/peers/torch_workloads.py) and by the checkpoint tests
(crates/cli/tests/torch_checkpoint.rs).
"""
import torch


class Res(torch.nn.Module):
    """gradus's res(...): body(x) + shortcut(x), the identity without one;
    parameters named body.i.* and shortcut.j.*."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = torch.nn.Sequential(*body)
        if shortcut is not None:
            self.shortcut = torch.nn.Sequential(*shortcut)

    def forward(self, x):
        return self.body(x) + (self.shortcut(x) if hasattr(self, "shortcut") else x)


class LSTM(torch.nn.LSTM):
    """gradus's lstm(...): batch first, the output sequence only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, batch_first=True, **kwargs)

    def forward(self, x):
        return super().forward(x)[0]


class GRU(torch.nn.GRU):
    """gradus's gru(...): batch first, the output sequence only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, batch_first=True, **kwargs)

    def forward(self, x):
        return super().forward(x)[0]


class LastToken(torch.nn.Module):
    """gradus's last_token: x[:, -1]."""

    def forward(self, x):
        return x[:, -1]


class MeanTokens(torch.nn.Module):
    """gradus's mean_tokens: x.mean(1)."""

    def forward(self, x):
        return x.mean(1)


class Embedding(torch.nn.Embedding):
    """gradus's embedding(...): tokens arrive as floats, as every batch does."""

    def forward(self, x):
        return super().forward(x.long())


class PosEmbedding(torch.nn.Module):
    """gradus's pos_embedding(max_len, dim): x + weight[:T]."""

    def __init__(self, max_len, dim):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(max_len, dim))

    def forward(self, x):
        return x + self.weight[: x.shape[1]]


def _mask(x, causal):
    t = x.shape[1]
    return torch.nn.Transformer.generate_square_subsequent_mask(t, device=x.device, dtype=x.dtype) if causal else None


class Attention(torch.nn.MultiheadAttention):
    """gradus's attention(...): self-attention, batch first, the output only."""

    def __init__(self, embed_dim, num_heads, causal=False, **kwargs):
        super().__init__(embed_dim, num_heads, batch_first=True, **kwargs)
        self.causal = causal

    def forward(self, x):
        mask = _mask(x, self.causal)
        return super().forward(x, x, x, attn_mask=mask, is_causal=self.causal, need_weights=False)[0]


class Transformer(torch.nn.TransformerEncoderLayer):
    """gradus's transformer(...): nn.TransformerEncoderLayer, batch first."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, causal=False, **kwargs):
        super().__init__(d_model, nhead, dim_feedforward, batch_first=True, **kwargs)
        self.causal = causal

    def forward(self, x):
        mask = _mask(x, self.causal)
        return super().forward(x, src_mask=mask, is_causal=self.causal)
