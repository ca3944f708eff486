"""A fixed-capacity circular store of same-architecture modules and their evaluation on one batch.

Parameters and buffers of up to ``capacity`` copies are kept as stacked tensors (leading dim =
capacity). :meth:`StackedModules.evaluate` runs every stored copy on the same inputs, oldest first:
this is how TRIRL evaluates its buffer of k discriminators (paper App. C.2 evaluates them "all at
once" with vmap on a GPU).

On CPU the copies run one after the other: each stored copy is loaded into one private module
(a copy of 0.8 MB for a [512, 256, 128] discriminator) and run by its own forward (``addmm``),
bit-for-bit what the live module gave, and twice as fast as ``torch.func.vmap`` (batched ``bmm``) on
this machine's torch 2.13 / MKL:
k = 100 discriminators [512, 256, 128] on 6400 samples, one thread, 5.5 s vs 10.8-12.2 s; k = 20
[64, 64] on 1920 samples 0.025 s vs 0.030-0.042 s (bench/learner.py measures the whole update).
On a GPU, where one kernel per layer for all copies is what counts, the copies run under vmap.
(``functional_call`` per copy was as fast but raised the peak memory of evaluating k = 100 on 5120
samples by 240 MB; loading into the module adds nothing.)
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call, vmap


class StackedModules:
    """Circular buffer of module states. template: a module of the stored architecture."""

    def __init__(self, template: nn.Module, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self.template = copy.deepcopy(template)
        for p in self.template.parameters():
            p.requires_grad_(False)
        self.params = {k: torch.zeros((capacity, *v.shape), dtype=v.dtype, device=v.device)
                       for k, v in self.template.named_parameters()}
        self.buffers = {k: torch.zeros((capacity, *v.shape), dtype=v.dtype, device=v.device)
                        for k, v in self.template.named_buffers()}
        self.count = 0  # total number of pushes ever

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def order(self) -> list[int]:
        """Storage slots from the oldest to the newest stored module."""
        n = len(self)
        if self.count <= self.capacity:
            return list(range(n))
        head = self.count % self.capacity  # slot that will be overwritten next = oldest
        return [(head + j) % self.capacity for j in range(n)]

    @torch.no_grad()
    def push(self, module: nn.Module) -> int:
        """Copy ``module``'s parameters and buffers into the next slot (evicting the oldest). Returns the slot."""
        slot = self.count % self.capacity
        for k, v in module.named_parameters():
            self.params[k][slot].copy_(v.detach())
        for k, v in module.named_buffers():
            self.buffers[k][slot].copy_(v)
        self.count += 1
        return slot

    def load_into(self, module: nn.Module, age: int = 0) -> nn.Module:
        """Copy the stored module ``age`` positions from the oldest (0 = oldest) into ``module``."""
        return self._load_slot(module, self.order()[age])

    @torch.no_grad()
    def _load_slot(self, module: nn.Module, slot: int) -> nn.Module:
        for k, v in module.named_parameters():
            v.copy_(self.params[k][slot])
        for k, v in module.named_buffers():
            v.copy_(self.buffers[k][slot])
        return module

    @torch.no_grad()
    def evaluate(self, *args, method: str | None = None) -> torch.Tensor:
        """Run every stored module on the same ``args``, oldest first.

        Returns the stacked outputs (n, ...) (n = ``len(self)``); a tuple output is returned as a
        tuple of stacked tensors. ``method`` names a module method other than ``forward``. Each
        output is exactly the stored module's own forward (see the module doc).
        """
        n = len(self)
        if n == 0:
            raise RuntimeError("StackedModules.evaluate: the buffer is empty")
        if next(iter(self.params.values())).device.type != "cpu":
            return self._evaluate_vmapped(n, args, method)
        fn = self.template if method is None else getattr(self.template, method)
        stacked: tuple[torch.Tensor, ...] = ()
        for age, slot in enumerate(self.order()):
            self._load_slot(self.template, slot)
            out = fn(*args)
            parts = out if isinstance(out, tuple) else (out,)
            if not stacked:  # rows written in place: n small outputs kept alive between the large
                # transient activations fragmented glibc's heap (+2.5 MB of RSS per stored copy)
                stacked = tuple(torch.empty((n, *o.shape), dtype=o.dtype, device=o.device) for o in parts)
            for dst, o in zip(stacked, parts):
                dst[age].copy_(o)
        return stacked if isinstance(out, tuple) else stacked[0]

    def _evaluate_vmapped(self, n: int, args, method: str | None):
        params = {k: v[:n] for k, v in self.params.items()}
        buffers = {k: v[:n] for k, v in self.buffers.items()}

        def one(p, b):
            return functional_call(self.template, (p, b), args) if method is None \
                else _call_method(self.template, p, b, method, args)

        out = vmap(one, in_dims=(0, 0))(params, buffers)
        idx = torch.tensor(self.order(), device=next(iter(self.params.values())).device)
        if isinstance(out, tuple):
            return tuple(o.index_select(0, idx) for o in out)
        return out.index_select(0, idx)

    def state_dict(self) -> dict:
        return {"params": {k: v.clone() for k, v in self.params.items()},
                "buffers": {k: v.clone() for k, v in self.buffers.items()}, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        for k in self.params:
            self.params[k].copy_(state["params"][k])
        for k in self.buffers:
            self.buffers[k].copy_(state["buffers"][k])
        self.count = int(state["count"])


class _Bound(nn.Module):
    """Wraps ``module.method`` as ``forward`` so ``functional_call`` can reach it."""

    def __init__(self, module: nn.Module, method: str) -> None:
        super().__init__()
        self.m = module
        self.method = method

    def forward(self, *args):
        return getattr(self.m, self.method)(*args)


def _call_method(template, params, buffers, method, args):
    wrapper = _Bound(template, method)
    p = {f"m.{k}": v for k, v in params.items()}
    b = {f"m.{k}": v for k, v in buffers.items()}
    return functional_call(wrapper, (p, b), args)
