"""The PyTorch module the models benchmark logs: square linear layers of a chosen total size."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

WIDTH = 2048
BYTES_PER_LAYER = (WIDTH * WIDTH + WIDTH) * 4


class WideStack(nn.Module):
    """`layers` square linear layers with ReLU between them."""

    def __init__(self, layers: int) -> None:
        super().__init__()
        self.init_args: dict[str, Any] = {"layers": layers}
        self.body = nn.Sequential(*[nn.Linear(WIDTH, WIDTH) for _ in range(layers)])

    @classmethod
    def of_size(cls, megabytes: int) -> WideStack:
        """A stack holding about `megabytes` MB of float32 weights."""
        return cls(max(1, round(megabytes * 1_000_000 / BYTES_PER_LAYER)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply every layer."""
        return torch.relu(self.body(x))
