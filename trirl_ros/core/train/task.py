"""TaskConfig: everything a training run needs, one typed frozen dataclass (``config/tasks/*.yaml``).

A task file names the robot, the demonstration source, the env, the algorithm and the budget::

    name: go2_trot
    robot: go2
    dataset: {source: ../shared/mocap/go2/amp_go2_trot0.txt}   # mocap file or imported .npz
    env: {...}            # optional, deep-merged onto config/envs/<robot>.yaml
    algo_base: trirl      # config/algo/<algo_base>.yaml ...
    algo: {...}           # ... deep-merged with this partial mapping
    total_steps: 200000
    preset: cpu
    presets: {cpu: {...}, gpu: {...}}   # partial mappings merged on top for the chosen preset

:func:`load_task_config` resolves the bases and the preset and returns a complete
:class:`TaskConfig`; ``to_dict`` of it (the run's ``config.yaml``) loads back to the same config.
Relative dataset paths are resolved against the folder holding ``config/`` (the repository root of
a checkout), so ``../shared/mocap/...`` works from any working directory.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from trirl_ros.core.algo.hparams import ALGORITHMS, AlgoConfig
from trirl_ros.core.config import (ConfigError, config_path, from_dict, package_root, read_yaml, to_dict,
                                    with_overrides)
from trirl_ros.core.envs.config import EnvConfig
from trirl_ros.core.envs.obs_spec import TERM_DIMS

PRESETS = ("cpu", "gpu")


@dataclass(frozen=True)
class DatasetConfig:
    """Where the demonstrations come from.

    source: a motion file any ``trirl demos import`` importer reads, or an imported dataset
        ``.npz``; relative paths are taken from the repository (package) root.
    extra_sources: more files of the same gait, read with the same options and joined as further
        clips (each clip's frames stay contiguous; sources at different rates are joined at the
        policy rate).
    format: importer name (None: auto-detect). trust_pickle / leg_order / fps: importer options.
    ground: ground correction after import ("none" | "frame" | "smooth" | "clip").
    """

    source: str
    extra_sources: tuple[str, ...] = ()
    format: str | None = None
    trust_pickle: bool = False
    leg_order: str = "FL,FR,RL,RR"
    fps: float | None = None
    ground: Literal["none", "frame", "smooth", "clip"] = "none"

    def __post_init__(self) -> None:
        if not self.source or not all(self.extra_sources):
            raise ValueError("dataset.source (and each of dataset.extra_sources) must name a motion file or dataset .npz")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"dataset.fps must be > 0, got {self.fps}")

    def path(self, source: str | None = None) -> Path:
        """Absolute path of ``source`` (default: ``self.source``; relative paths: from the package root)."""
        p = Path(self.source if source is None else source).expanduser()
        return p if p.is_absolute() else (package_root() / p)

    def paths(self) -> list[Path]:
        """Absolute paths of the source and the extra sources, in order."""
        return [self.path(s) for s in (self.source, *self.extra_sources)]


@dataclass(frozen=True)
class EvalConfig:
    """Imitation-score evaluation: every ``every_iters`` learner iterations, ``num_envs``
    deterministic rollouts of ``steps`` policy steps; ``init`` 'reference' starts each at a clip's
    first demonstration state (clip = env index mod clips), 'default' at the default pose."""

    every_iters: int = 10
    steps: int = 1000
    num_envs: int = 2
    init: Literal["reference", "default"] = "reference"

    def __post_init__(self) -> None:
        for name in ("every_iters", "steps", "num_envs"):
            if getattr(self, name) < 1:
                raise ValueError(f"eval.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class TaskConfig:
    """A complete training task (see module doc). Shapes/units: steps are env steps summed over
    all ``num_envs`` environments (one env step = one policy step of one robot)."""

    name: str
    robot: str
    dataset: DatasetConfig
    env: EnvConfig
    algo: AlgoConfig
    total_steps: int
    algo_base: str = "trirl"
    preset: Literal["cpu", "gpu"] = "cpu"
    num_envs: int = 16
    num_threads: int = 2  # MuJoCo threads stepping the envs
    torch_threads: int = 1  # torch intra-op threads (0: torch's default); 1 avoids oversubscription
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    seed: int = 0
    reference_init: float = 0.5  # fraction of episode starts drawn from demonstration states
    # the other starts (default pose, the deploy stack's start) end after this many seconds
    # (truncated, not a fall): they practise starting without taking the clip states' share of
    # the env steps. None: every episode runs env.episode_length_s
    standing_episode_s: float | None = None
    # env observation terms the discriminator sees, newest frame only; () = every env term except
    # last_action (the demonstrations carry no actions: their last_action is synthetic)
    disc_terms: tuple[str, ...] = ()
    eval: EvalConfig = field(default_factory=EvalConfig)
    checkpoint_every_iters: int = 10
    export: bool = True  # export the final policy to RUN_DIR/policy.onnx (+ .yaml)

    def __post_init__(self) -> None:
        if self.total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {self.total_steps}")
        if self.num_envs < 1 or self.num_threads < 1:
            raise ValueError("num_envs and num_threads must be >= 1")
        if self.torch_threads < 0:
            raise ValueError(f"torch_threads must be >= 0, got {self.torch_threads}")
        if not 0.0 <= self.reference_init <= 1.0:
            raise ValueError(f"reference_init must lie in [0, 1], got {self.reference_init}")
        if self.standing_episode_s is not None:
            if not 0.0 < self.standing_episode_s <= self.env.episode_length_s:
                raise ValueError(f"standing_episode_s must lie in (0, env.episode_length_s = "
                                 f"{self.env.episode_length_s}], got {self.standing_episode_s}")
            if self.reference_init >= 1.0:
                raise ValueError("standing_episode_s shortens the default-pose starts, but reference_init 1.0 "
                                 "starts every episode from a demonstration state")
        if self.checkpoint_every_iters < 1:
            raise ValueError("checkpoint_every_iters must be >= 1")
        if self.algo_base not in ALGORITHMS and not self.algo_base.endswith((".yaml", ".yml")):
            raise ValueError(f"algo_base {self.algo_base!r} is not one of {list(ALGORITHMS)} or a YAML path")
        env_terms = [t.name for t in self.env.obs.terms]
        if self.env.command_ranges is not None and "velocity_command" not in env_terms:
            raise ValueError("env.command_ranges draws commands the policy cannot see: add the "
                             "velocity_command term to env.obs")
        if self.algo.tracking.velocity_target == "command" and self.algo.algorithm == "tracking" \
                and self.env.command_ranges is None:
            raise ValueError("tracking.velocity_target 'command' needs env.command_ranges (the commands to follow)")
        for t in self.disc_terms:
            if t not in TERM_DIMS:
                raise ValueError(f"disc_terms: unknown observation term {t!r}")
            if t not in env_terms:
                raise ValueError(f"disc_terms: {t!r} is not a term of the env observation {env_terms}")

    def discriminator_terms(self) -> tuple[str, ...]:
        """The resolved discriminator terms (see ``disc_terms``)."""
        if self.disc_terms:
            return self.disc_terms
        terms = tuple(t.name for t in self.env.obs.terms if t.name != "last_action")
        if not terms:
            raise ValueError("the env observation has no term besides last_action for the discriminator")
        return terms


def _deep_merge(base: Any, top: Any) -> Any:
    """Recursive dict merge (``top`` wins); non-dicts are replaced."""
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for k, v in top.items():
            out[k] = _deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(top)


def _algo_base_dict(name: str) -> dict:
    p = Path(name)
    if p.suffix not in (".yaml", ".yml"):
        if name not in ALGORITHMS:
            raise ConfigError(f"algo_base: unknown algorithm {name!r}; expected one of {list(ALGORITHMS)}")
        p = config_path("algo", f"{name}.yaml")
    return read_yaml(p, "algo_base: algorithm config file") or {}


def resolve_task_dict(raw: dict, preset: str | None = None, where: str = "task") -> dict:
    """Plain task mapping -> complete mapping (bases merged, preset applied, ``presets`` dropped).

    ``preset`` overrides the file's ``preset`` key. Raises ConfigError naming the problem.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    raw = copy.deepcopy(raw)
    presets = raw.pop("presets", {}) or {}
    if not isinstance(presets, dict):
        raise ConfigError(f"{where}: presets must map preset names to partial configs")
    unknown = sorted(set(presets) - set(PRESETS))
    if unknown:
        raise ConfigError(f"{where}: unknown preset(s) {unknown}; allowed: {list(PRESETS)}")
    chosen = preset if preset is not None else raw.get("preset", "cpu")
    if chosen not in PRESETS:
        raise ConfigError(f"{where}: unknown preset {chosen!r}; allowed: {list(PRESETS)}")
    if chosen in presets:
        if not isinstance(presets[chosen], dict):
            raise ConfigError(f"{where}: presets.{chosen} must be a mapping")
        raw = _deep_merge(raw, presets[chosen])
    raw["preset"] = chosen
    robot = raw.get("robot")
    if not isinstance(robot, str):
        raise ConfigError(f"{where}: missing required key 'robot' (a robot spec name)")
    env_path = config_path("envs", f"{robot}.yaml")
    env_base = yaml.safe_load(env_path.read_text()) if env_path.is_file() else {}
    if env_base or "env" in raw:
        raw["env"] = _deep_merge(env_base or {}, raw.get("env") or {})
    algo_base = raw.get("algo_base", "trirl")
    if not isinstance(algo_base, str):
        raise ConfigError(f"{where}: algo_base must be a string, got {algo_base!r}")
    raw["algo"] = _deep_merge(_algo_base_dict(algo_base), raw.get("algo") or {})
    return raw


def load_task_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TaskConfig:
    """Load a task YAML (or a run's resolved ``config.yaml``) and apply ``key=value`` overrides.

    ``preset=...`` among the overrides selects the preset before the others apply. Unknown keys
    (in the file or the overrides) raise ConfigError naming them.
    """
    path = Path(path)
    raw = read_yaml(path, "task config")
    preset, rest = None, []
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        if key == "preset":
            if "=" not in item:
                raise ConfigError(f"override {item!r} is not of the form key=value")
            preset = str(yaml.safe_load(item.split("=", 1)[1]))
        else:
            rest.append(_numeric(item))
    try:
        cfg = from_dict(TaskConfig, resolve_task_dict(raw, preset, str(path)), "")
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from exc
    return with_overrides(cfg, rest) if rest else cfg


def _numeric(item: str) -> str:
    """``key=1e-3`` -> ``key=0.001``: YAML 1.1 reads ``1e-3`` as a string, users mean a number."""
    if "=" not in item:
        return item
    key, raw = item.split("=", 1)
    if isinstance(yaml.safe_load(raw), str):
        try:
            return f"{key}={float(raw)!r}"
        except ValueError:
            pass
    return item


def task_to_yaml(cfg: TaskConfig) -> str:
    """The resolved config as YAML (what a run directory stores as ``config.yaml``)."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def resolve_device(device: str) -> str:
    """'cpu' | 'cuda' | 'auto' -> a torch device string; 'cuda' without a GPU raises ConfigError."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: 'cuda' requested but torch sees no CUDA device (use cpu or auto)")
    return device


__all__ = ["DatasetConfig", "EvalConfig", "TaskConfig", "load_task_config", "resolve_task_dict",
           "task_to_yaml", "resolve_device", "PRESETS"]
