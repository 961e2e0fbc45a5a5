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
