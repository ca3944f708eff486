"""The `trirl` console script: every subcommand group registers and answers --help."""

import subprocess
import sys

import pytest

from trirl_ros.cli import COMMANDS, build_parser


def test_every_group_registers():
    parser = build_parser()
    groups = next(a for a in parser._actions if a.dest == "command").choices
    # the groups the README documents; a group dropped from COMMANDS must fail here
    assert sorted(groups) == sorted(COMMANDS) == sorted(
        ["robots", "bench", "demos", "examples", "train", "plot", "rollout", "export", "sim2sim"])


@pytest.mark.parametrize("group", sorted(COMMANDS))
def test_group_help(group, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([group, "--help"])
    assert exc.value.code == 0
    assert group in capsys.readouterr().out


def test_console_script_reports_errors_without_traceback(tmp_path):
    missing = tmp_path / "nope.npz"
    proc = subprocess.run([sys.executable, "-m", "trirl_ros.cli", "demos", "info", str(missing)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    # (other lines may precede it: a library's log, e.g. PyOpenGL's INFO line when an earlier test
    # left MUJOCO_GL in the environment)
    assert any(line.startswith("error: ") and "nope.npz" in line for line in proc.stderr.splitlines()), proc.stderr
    assert "Traceback" not in proc.stderr
