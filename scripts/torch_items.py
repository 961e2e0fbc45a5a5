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
