"""Data-parallel training across processes (``torchrun``): every rank steps its own envs, the
learner runs on all ranks' rollouts.

Started by ``torchrun --nproc_per_node R --no-python trirl train --config ...`` (or any launcher
that sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` / ``MASTER_PORT``): gloo on CPU, NCCL on GPUs.

How the ranks stay identical. After each rollout the ranks all-gather their rollout storages
(T, N, ...) into one (T, R*N, ...) batch; every rank then runs the same learner update (reward
learner, discriminator buffer, R_fit, policy step) on the same batch with the same learner random
stream, so the networks are equal on every rank without a gradient all-reduce. Why not all-reduce
gradients: TRIRL's update has several optimisers (policy/critic, discriminator, R_fit running in a
background thread beside the policy step), data-dependent scalars (the trust-region multiplier eta,
normaliser statistics, the lowest agent reward, the adaptive learning rate) and a replay buffer:
each would need its own collective, issued in the same order on every rank. The cost of this choice
is that the learner's work is repeated on every rank (on 2 CPU cores the rollout is ~80 % of an
iteration); :func:`check_identical` verifies the claim.

Per rank: its envs (seed ``seed + 1000 * rank``), its reference-state draws and its action noise
(:attr:`ImitationAgent.noise_generator`, seeded by rank). Rank 0 alone evaluates, logs, writes
checkpoints, best.pt and the export; the other ranks follow its stop decision.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from trirl_ros.core.algo.rollout import RolloutStorage

log = logging.getLogger(__name__)

RANK_SEED_STRIDE = 1000  # env / reference-init / action-noise seeds of rank r: seed + 1000 * r


@dataclass(frozen=True)
class DistContext:
    """This process's place in a data-parallel run (world_size 1: a plain single-process run)."""

    rank: int = 0
    world_size: int = 1
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def seed(self, seed: int) -> int:
        """This rank's seed for what differs between ranks (envs, resets, action noise)."""
        return int(seed) + RANK_SEED_STRIDE * self.rank


SINGLE = DistContext()


def from_environment(device: torch.device | str = "cpu") -> DistContext:
    """The context torchrun describes in the environment (``WORLD_SIZE`` > 1), the process group
    initialised once; :data:`SINGLE` when not launched that way. NCCL for CUDA devices (each rank on
    ``cuda:LOCAL_RANK``), gloo otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    for key in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        if key not in os.environ:
            raise RuntimeError(f"WORLD_SIZE={world} but {key} is not set: start data-parallel runs with torchrun")
    device = torch.device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and not dist.is_nccl_available():
        raise RuntimeError("a CUDA data-parallel run needs torch.distributed's NCCL backend, which this torch lacks")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    ctx = DistContext(dist.get_rank(), dist.get_world_size(), backend)
    log.info("data-parallel: rank %d of %d (%s)", ctx.rank, ctx.world_size, backend)
    return ctx


def rank_device(device: torch.device | str, ctx: DistContext) -> torch.device | str:
    """A CUDA run puts rank r on ``cuda:LOCAL_RANK``; other devices are unchanged."""
    if ctx.enabled and torch.device(device).type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", ctx.rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return device


def gather_rollouts(storage: RolloutStorage, ctx: DistContext) -> RolloutStorage:
    """A full storage (T, N, ...) per rank -> one storage (T, R*N, ...) with rank r's envs at columns
    [r*N, (r+1)*N), the same on every rank. Returns ``storage`` itself when not distributed."""
    if not ctx.enabled:
        return storage
    if not storage.full:
        raise RuntimeError(f"gather_rollouts: storage incomplete ({storage.step}/{storage.T} steps)")
    out = RolloutStorage.__new__(RolloutStorage)
    out.T, out.N, out.step = storage.T, storage.N * ctx.world_size, storage.T
    for name in RolloutStorage.FIELDS:
        local = getattr(storage, name)
        send = local.to(torch.uint8) if local.dtype == torch.bool else local  # gloo gathers no bool
        parts = [torch.empty_like(send) for _ in range(ctx.world_size)]
        dist.all_gather(parts, send.contiguous())
        both = torch.cat(parts, dim=1)
        setattr(out, name, both.to(torch.bool) if local.dtype == torch.bool else both)
    return out


def agree_stop(stop: bool, ctx: DistContext) -> bool:
    """True on every rank when rank 0 asks to stop (its signal handler, its wall-clock budget)."""
    if not ctx.enabled:
        return stop
    flag = torch.tensor([1 if (stop and ctx.is_main) else 0], dtype=torch.int64)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def state_digest(module_states: dict) -> str:
    """sha256 over the tensors of a (nested) state dict, in key order: equal digests = equal states."""
    h = hashlib.sha256()

    def walk(prefix: str, obj) -> None:
        if isinstance(obj, dict):
            for k in sorted(obj, key=str):
                walk(f"{prefix}/{k}", obj[k])
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(f"{prefix}/{i}", v)
        elif isinstance(obj, torch.Tensor):
            h.update(prefix.encode())
            h.update(obj.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(obj, (int, float, str, bool)) or obj is None:
            h.update(f"{prefix}={obj!r}".encode())

    walk("", module_states)
    return h.hexdigest()


def check_identical(digest: str, ctx: DistContext) -> bool:
    """True when every rank's ``digest`` (see :func:`state_digest`) equals rank 0's."""
    if not ctx.enabled:
        return True
    mine = torch.frombuffer(bytearray(bytes.fromhex(digest)), dtype=torch.uint8).to(torch.int64)
    ref = mine.clone()
    dist.broadcast(ref, src=0)
    same = torch.tensor([int(torch.equal(mine, ref))], dtype=torch.int64)
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    return bool(same.item())


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
