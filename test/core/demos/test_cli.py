"""``trirl demos``: import/info/to-bag, and bad inputs each give a clear error, a non-zero exit and
no output file. Bags are real rosbag2 directories written with rosbags."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trirl_ros import cli
from trirl_ros.core.demos.bagio import write_bag
from trirl_ros.core.demos.dataset import Dataset
from trirl_ros.core.demos.importers.csv_g1 import write_csv
from trirl_ros.core.demos.processing import resample


@pytest.fixture
def run(monkeypatch, capsys):
    """Run ``trirl`` in-process with only the demos group registered; returns (rc, out, err)."""
    monkeypatch.setattr(cli, "COMMANDS", {"demos": "trirl_ros.commands.demos"})

    def _run(*argv):
        rc = cli.main([str(a) for a in argv])
        out = capsys.readouterr()
        return rc, out.out, out.err

    return _run


@pytest.fixture(scope="module")
def short_ds(asap_ds, g1_kin):
    """ASAP walk resampled to 50 Hz, first 40 frames."""
    ds = resample(asap_ds, 50.0, g1_kin)
    return next(dataclasses.replace(ds, qpos=ds.qpos[:40], qvel=ds.qvel[:40], split_points=np.array([0, 40]))
                for _ in [0])


def _assert_failed_cleanly(rc, err, out_dir, pattern):
    import re

    assert rc == 2, err  # the CLI's exit code for a library error (README: "exit code 2")
    assert err.startswith("error: ") and "Traceback" not in err, err
    assert re.search(pattern, err), err
    assert [p.name for p in out_dir.iterdir()] == [], "no partial output may be left"


def test_import_and_info(run, mocap_dir, tmp_path):
    out = tmp_path / "trot.npz"
    rc, text, err = run("demos", "import", mocap_dir / "go2" / "amp_go2_trot0.txt", "--robot", "go2",
                        "-o", out, "--hz", "50", "--license", "CC BY-NC 4.0")
    assert rc == 0, err
    assert "wrote" in text and "27 frames at 50 Hz" in text
    ds = Dataset.load(out)
    assert ds.provenance["license"] == "CC BY-NC 4.0" and ds.provenance["source"] == "amp_go2_trot0.txt"
    rc, text, err = run("demos", "info", out)
    assert rc == 0, err
    assert "robot     go2 (12 joints)" in text and "FL_calf_joint" in text and "mean speed" in text


def test_import_with_ground_correction_reports_offset(run, mocap_dir, tmp_path):
    rc, text, err = run("demos", "import", mocap_dir / "g1" / "asap_g1_walk_level2.pkl", "--robot", "g1_29dof",
                        "--trust-pickle", "--ground", "frame", "-o", tmp_path / "a.npz")
    assert rc == 0, err
    assert "ground 0-motions" in text and "offset mean -" in text and "in 100% of frames" in text


def test_floating_feet_are_reported_and_warned_about(run, mocap_dir, tmp_path):
    # ASAP's video-fitted walk floats: the lowest foot +33 mm above the floor in 98% of frames
    rc, text, err = run("demos", "import", mocap_dir / "g1" / "asap_g1_walk_level2.pkl", "--robot", "g1_29dof",
                        "--trust-pickle", "-o", tmp_path / "a.npz")
    assert rc == 0, err
    assert "feet: lowest foot +33.1 mm above the floor (median), 98% of frames" in text
    assert "warning: most frames float or sink by more than 10 mm; import with --ground" in err
    # the Go2 trot has a foot on the floor: reported, no warning
    rc, text, err = run("demos", "import", mocap_dir / "go2" / "amp_go2_trot0.txt", "--robot", "go2",
                        "-o", tmp_path / "t.npz")
    assert rc == 0 and "6% of frames float or sink" in text and "warning" not in err


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_import_round_trip(run, short_ds, tmp_path, storage):
    bag = write_bag(short_ds, tmp_path / "bag", storage=storage)
    rc, _, err = run("demos", "import", bag, "--robot", "g1_29dof", "-o", tmp_path / "b.npz")
    assert rc == 0, err
    back = Dataset.load(tmp_path / "b.npz")
    np.testing.assert_allclose(back.qpos, short_ds.qpos, atol=1e-9)


def test_bad_pickle_without_trust(run, mocap_dir, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc, _, err = run("demos", "import", mocap_dir / "g1" / "asap_g1_walk_level1.pkl", "--robot", "g1_29dof",
                     "-o", out_dir / "x.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"pickle: loading a pickle can run arbitrary code.*--trust-pickle")


def test_bad_robot_mismatch(run, mocap_dir, tmp_path, short_ds):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc, _, err = run("demos", "import", mocap_dir / "go2" / "amp_go2_pace0.txt", "--robot", "g1_29dof",
                     "-o", out_dir / "x.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"FL_hip_joint .* is not a joint of g1_29dof")
    ds_path = short_ds.save(tmp_path / "g1.npz")
    rc, _, err = run("demos", "import", ds_path, "--robot", "go2", "-o", out_dir / "y.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"dataset is for robot 'g1_29dof', not 'go2'")


def test_bad_csv_nan_row_and_wrong_column_count(run, short_ds, g1_kin, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    good = write_csv(short_ds, tmp_path / "good.csv", g1_kin.spec)
    lines = good.read_text().splitlines()
    nan_lines = list(lines)
    cells = nan_lines[5].split(",")
    cells[10] = "nan"
    nan_lines[5] = ",".join(cells)
    (tmp_path / "nan.csv").write_text("\n".join(nan_lines) + "\n")
    rc, _, err = run("demos", "import", tmp_path / "nan.csv", "--robot", "g1_29dof", "-o", out_dir / "x.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"frame 5: NaN/inf")
    short = list(lines)
    short[3] = ",".join(short[3].split(",")[:-1])
    (tmp_path / "short.csv").write_text("\n".join(short) + "\n")
    rc, _, err = run("demos", "import", tmp_path / "short.csv", "--robot", "g1_29dof", "--format", "csv",
                     "-o", out_dir / "x.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"row 3: 35 columns, expected 36")


def test_bad_bag_unknown_joint_names(run, short_ds, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    renamed = dataclasses.replace(short_ds, joint_names=tuple(f"joint_{i}" for i in range(29)))
    bag = write_bag(renamed, tmp_path / "bag")
    rc, _, err = run("demos", "import", bag, "--robot", "g1_29dof", "-o", out_dir / "x.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"joint_0.*unknown joint names")


def test_bad_truncated_mcap_bag(run, short_ds, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    bag = write_bag(short_ds, tmp_path / "bag", storage="mcap")
    mcap = next(bag.glob("*.mcap"))
    data = mcap.read_bytes()
    mcap.write_bytes(data[: len(data) // 2])
    rc, _, err = run("demos", "import", bag, "--robot", "g1_29dof", "-o", out_dir / "x.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"cannot read bag")


def test_bad_corrupt_sqlite_bag(run, short_ds, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    bag = write_bag(short_ds, tmp_path / "bag", storage="sqlite3")
    db = next(bag.glob("*.db3"))
    db.write_bytes(b"this is not an sqlite database" * 100)
    rc, _, err = run("demos", "import", bag, "--robot", "g1_29dof", "-o", out_dir / "x.npz")
    _assert_failed_cleanly(rc, err, out_dir, r"cannot read bag")


def test_to_bag_writes_a_bag_the_importer_reads(run, short_ds, tmp_path):
    src = short_ds.save(tmp_path / "d.npz")
    rc, text, err = run("demos", "to-bag", src, "-o", tmp_path / "bag", "--storage", "sqlite3",
                        "--pose-type", "Odometry")
    assert rc == 0, err
    assert f"wrote {tmp_path / 'bag'} (sqlite3): 40 frames" in text and "(Odometry)" in text
    rc, _, err = run("demos", "import", tmp_path / "bag", "--robot", "g1_29dof", "-o", tmp_path / "r.npz")
    assert rc == 0, err
    np.testing.assert_allclose(Dataset.load(tmp_path / "r.npz").qpos, short_ds.qpos, atol=1e-9)
