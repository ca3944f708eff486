"""Running mean/variance observation normaliser as a torch module (exportable inside ONNX)."""

from __future__ import annotations

import torch
from torch import nn


class RunningNormalizer(nn.Module):
    """Normalises features with running statistics kept in buffers (``mean``, ``var``, ``count``).

    The statistics are buffers, so they are part of ``state_dict`` (exact resume) and of a traced
    / exported graph (``normalize`` is plain arithmetic). ``update`` merges a batch with the
    parallel-variance formula (Chan et al.), so the result does not depend on how the data was
    split into batches.

    dim: feature size D. clip: normalised values are clipped to [-clip, clip].
    """

    def __init__(self, dim: int, clip: float = 10.0, eps: float = 1e-8) -> None:
        super().__init__()
        if dim < 1:
            raise ValueError(f"RunningNormalizer dim must be >= 1, got {dim}")
        self.dim = int(dim)
        self.clip = float(clip)
        self.eps = float(eps)
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float32))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float32))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge a batch ``x`` (..., D) into the statistics. Rejects NaN/inf."""
        x = x.reshape(-1, self.dim).to(torch.float64)
        if x.shape[0] == 0:
            return
        if not bool(torch.isfinite(x).all()):
            raise ValueError("RunningNormalizer.update: batch contains NaN or inf")
        n_b = float(x.shape[0])
        mean_b = x.mean(0)
        var_b = x.var(0, unbiased=False)
        n_a = float(self.count)
        mean_a = self.mean.to(torch.float64)
        var_a = self.var.to(torch.float64) if n_a > 0 else torch.zeros_like(var_b)
        n = n_a + n_b
        delta = mean_b - mean_a
        mean = mean_a + delta * (n_b / n)
        m2 = var_a * n_a + var_b * n_b + delta.square() * (n_a * n_b / n)
        self.mean.copy_(mean.to(self.mean.dtype))
        self.var.copy_((m2 / n).to(self.var.dtype))
        self.count.fill_(n)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(x - mean) / sqrt(var + eps), clipped; x (..., D) -> (..., D)."""
        y = (x - self.mean) / torch.sqrt(self.var + self.eps)
        return torch.clamp(y, -self.clip, self.clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D401
        """Same as :meth:`normalize`."""
        return self.normalize(x)
