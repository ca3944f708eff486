"""The typed YAML config loader every config goes through: unknown keys, types, overrides, files."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from trirl_ros.core.config import ConfigError, from_dict, load_yaml, read_yaml, to_dict, with_overrides


@dataclass(frozen=True)
class Inner:
    gain: float
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outer:
    inner: Inner
    steps: int = 10
    clip: float | None = None

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise ValueError(f"steps must be > 0, got {self.steps}")


def test_builds_nested_frozen_dataclasses_with_tuples_and_defaults():
    cfg = from_dict(Outer, {"inner": {"gain": 2, "names": ["a", "b"]}})
    assert cfg == Outer(Inner(2.0, ("a", "b")), 10, None)
    assert isinstance(cfg.inner.gain, float) and to_dict(cfg) == {
        "inner": {"gain": 2.0, "names": ["a", "b"]}, "steps": 10, "clip": None}


@pytest.mark.parametrize("data, message", [
    ({"inner": {"gain": 1.0, "gian": 2}}, r"inner: unknown key\(s\) \['gian'\]"),
    ({"inner": {"names": []}}, r"inner: missing required key 'gain'"),
    ({"inner": {"gain": "fast"}}, r"inner.gain: expected a number, got 'fast'"),
    ({"inner": {"gain": 1.0}, "steps": 2.5}, r"steps: expected an integer, got 2.5"),
    ({"inner": {"gain": 1.0}, "steps": True}, r"steps: expected an integer, got True"),
    ({"inner": {"gain": 1.0}, "steps": 0}, r"steps must be > 0, got 0"),
])
def test_bad_values_are_named(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data)


def test_overrides_parse_yaml_values_and_revalidate():
    cfg = from_dict(Outer, {"inner": {"gain": 1.0}})
    assert with_overrides(cfg, ["inner.gain=0.5", "clip=3"]) == Outer(Inner(0.5), 10, 3.0)
    with pytest.raises(ConfigError, match=r"unknown key 'gian'"):
        with_overrides(cfg, ["inner.gian=1"])
    with pytest.raises(ConfigError, match=r"steps must be > 0"):
        with_overrides(cfg, ["steps=-1"])
    with pytest.raises(ConfigError, match=r"not of the form key=value"):
        with_overrides(cfg, ["steps"])


def test_files_missing_or_invalid_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"task config not found: .*nope.yaml"):
        read_yaml(tmp_path / "nope.yaml", "task config")
    bad = tmp_path / "bad.yaml"
    bad.write_text("inner: {gain: [1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid YAML"):
        load_yaml(bad, Outer)
    good = tmp_path / "good.yaml"
    good.write_text("inner: {gain: 1.5}\nsteps: 3\nextra: 1\n")
    with pytest.raises(ConfigError, match=r"good.yaml: .*unknown key\(s\) \['extra'\]"):
        load_yaml(good, Outer)
