"""Metrics of a run: one CSV row per learner iteration (``metrics.csv``) and TensorBoard events.

Columns are the union of every key seen; when a new key appears the CSV is rewritten with the
wider header (older rows get empty cells). On resume, rows past the checkpoint's step are dropped
(the resumed run logs them again) and TensorBoard purges its events past that step, so both
stay continuous.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from pathlib import Path

log = logging.getLogger(__name__)

FIRST = ("step", "iteration", "wall_s")


def read_csv(path: str | Path) -> list[dict[str, float]]:
    """Rows of a metrics CSV as dicts of floats (empty cells omitted)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]


class MetricsLogger:
    """log(step, metrics) appends a row; ``resume_step`` truncates to rows with step <= it."""

    def __init__(self, run_dir: str | Path, resume_step: int | None = None, tensorboard: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        self.rows: list[dict[str, float]] = read_csv(self.path) if resume_step is not None else []
        if resume_step is not None:
            self.rows = [r for r in self.rows if r.get("step", 0) <= resume_step]
        self.columns: list[str] = list(FIRST)
        for r in self.rows:
            self._add_columns(r)
        self._rewrite()
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(run_dir) / "tb"), purge_step=resume_step)

    def _add_columns(self, row: dict) -> bool:
        new = [k for k in row if k not in self.columns]
        self.columns.extend(sorted(new))
        return bool(new)

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.columns)
            w.writeheader()
            for r in self.rows:
                w.writerow({k: _fmt(v) for k, v in r.items()})
        os.replace(tmp, self.path)

    def log(self, row: dict[str, float]) -> None:
        """Append ``row`` (must hold 'step'); numbers only."""
        row = {k: float(v) for k, v in row.items()}
        self.rows.append(row)
        if self._add_columns(row):
            self._rewrite()
        else:
            with open(self.path, "a", newline="") as fh:
                csv.DictWriter(fh, fieldnames=self.columns).writerow({k: _fmt(v) for k, v in row.items()})
        if self.writer is not None:
            step = int(row["step"])
            for k, v in row.items():
                if k not in FIRST and math.isfinite(v):
                    self.writer.add_scalar(k, v, step)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _fmt(v: float) -> str:
    return repr(float(v)) if not float(v).is_integer() else str(int(v))
