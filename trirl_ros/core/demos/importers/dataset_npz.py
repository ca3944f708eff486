"""A trirl dataset (.npz written by :meth:`Dataset.save`) given to the importer again: it is
re-validated for the requested robot (and can be resampled / ground-corrected by the CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trirl_ros.core.demos.dataset import Dataset, DatasetError

NAME = "dataset"


def sniff(path: Path, head: bytes) -> bool:
    if not path.is_file() or not head.startswith(b"PK"):
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return "schema" in data.files
    except Exception:
        return False


def load(path: Path, kin, opts) -> Dataset:
    ds = Dataset.load(path, check=False)
    if ds.robot != kin.spec.name:
        raise DatasetError(f"{path.name}: dataset is for robot {ds.robot!r}, not {kin.spec.name!r}")
    return ds
