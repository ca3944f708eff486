"""`trirl sim2sim --backend dds`: the deploy controller and the DDS sim robot in one process over
loopback, on a domain claimed from the same lock pool as the tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from trirl_ros.core.config import config_path

from .conftest import require_cyclonedds

require_cyclonedds()

from trirl_ros.core.deploy.unitree.domains import FIRST, LAST, claim_domain  # noqa: E402


def test_claimed_domains_are_exclusive_and_avoid_the_session_domain(dds_domain):
    with claim_domain() as a, claim_domain() as b:
        assert FIRST <= a.domain <= LAST and FIRST <= b.domain <= LAST
        assert len({a.domain, b.domain, dds_domain}) == 3
    with claim_domain(first=a.domain, last=a.domain) as again:  # released: free again
        assert again.domain == a.domain


def test_cli_sim2sim_over_dds_reaches_policy_standing(tmp_path, capsys, robots_dir):
    from trirl_ros.cli import main
    from trirl_ros.core.export.onnx_export import export_policy
    from trirl_ros.core.export.policy_modules import make_policy, mean_action_graph
    from trirl_ros.core.export.run_dir import default_obs_spec
    from trirl_ros.core.robots.spec import load_robot_spec

    robot = load_robot_spec("go2")
    obs = default_obs_spec(robot)
    graph = mean_action_graph(make_policy("pd-stand", obs.dim(12), 12, hidden=(16,)))
    onnx = export_policy(graph.normalizer, graph.actor, robot, obs, tmp_path / "go2.onnx", n_verify=20).onnx_path
    # the shipped sim2sim settings, but 10 stale periods: on the loaded 2-core CI box a process can
    # stall > 60 ms (measured: a spurious stale damping in HOLD with 3 periods)
    cfg = yaml.safe_load(Path(config_path("deploy", "sim2sim.yaml")).read_text())
    cfg["safety"]["stale_periods"] = 10
    (tmp_path / "deploy.yaml").write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["sim2sim", "--robot", "go2", "--policy", str(onnx), "--backend", "dds", "--seconds", "4",
                 "--deploy-config", str(tmp_path / "deploy.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    steps = [line.split()[3:6] for line in out if line.startswith("t=")]
    assert steps == [["WAIT_STATE", "->", "ZERO_TORQUE:"], ["ZERO_TORQUE", "->", "RAMP:"],
                     ["RAMP", "->", "HOLD:"], ["HOLD", "->", "POLICY:"]], out
    assert out[-1].startswith("state POLICY fell 0 distance "), out
    sim_s = float(out[-2].split()[1])
    assert 3.0 < sim_s <= 4.01, out  # sim time starts with the first command
