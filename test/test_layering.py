"""Layering: only the ROS node layer (trirl_ros/ros/) may import rclpy or ROS message packages.

Two checks: a static AST scan of every module outside trirl_ros/ros/ (imports, and literal
importlib.import_module / __import__ names), and importing every trirl_ros.core module in a
fresh interpreter and checking that no ROS module ended up in sys.modules.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "trirl_ros"
ROS_LAYER = PACKAGE / "ros"


def is_ros_module(name: str) -> bool:
    top = name.split(".")[0]
    return (top == "rclpy" or top.startswith("rclpy_") or top.endswith("_msgs") or top.endswith("_srvs")
            or top in {"launch", "launch_ros", "rosidl_runtime_py", "rosidl_parser"})


def ros_imports(source: str, filename: str) -> list[tuple[int, str]]:
    """(line, module) of every ROS import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call):
            f = node.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if fname in {"import_module", "__import__"} and node.args and isinstance(node.args[0], ast.Constant):
                names = [str(node.args[0].value)]
        found += [(node.lineno, n) for n in names if is_ros_module(n)]
    return found


def test_scanner_detects_ros_imports():
    src = ("import numpy\nimport rclpy\nfrom sensor_msgs.msg import JointState\nfrom std_srvs.srv import Trigger\n"
           "import rclpy_lifecycle\nimport importlib\nimportlib.import_module('nav_msgs.msg')\nfrom .x import y\n")
    assert [n for _, n in ros_imports(src, "x.py")] == ["rclpy", "sensor_msgs.msg", "std_srvs.srv",
                                                        "rclpy_lifecycle", "nav_msgs.msg"]


def test_no_ros_imports_outside_ros_layer():
    offenders = []
    files = [p for p in PACKAGE.rglob("*.py") if ROS_LAYER not in p.parents]
    assert len(files) > 10  # the scan really covers the package
    for path in files:
        for line, name in ros_imports(path.read_text(), str(path)):
            offenders.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert not offenders, "ROS imports outside trirl_ros/ros/:\n" + "\n".join(offenders)


def test_importing_core_loads_no_ros_module():
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import trirl_ros.core as core\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'trirl_ros.core.')]\n"
        "for n in names: importlib.import_module(n)\n"
        "print(json.dumps({'imported': names, 'modules': sorted(sys.modules)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "trirl_ros.core.envs.locomotion" in result["imported"]
    loaded = [m for m in result["modules"] if is_ros_module(m)]
    assert not loaded, f"importing trirl_ros.core.* loaded ROS modules: {loaded}"
