"""Static test of launch/*.py (launch / launch_ros are not installable here): every node they
start is a console script of this package whose module defines main(), and every parameter /
config file they name exists in the package."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((REPO / "launch").glob("*.launch.py"))
NODE_CALLS = {"Node", "LifecycleNode", "ComposableNode"}
FILE_SUFFIXES = (".yaml", ".yml", ".json", ".urdf", ".xml", ".rviz", ".onnx", ".npz")


def console_scripts() -> dict[str, str]:
    """name -> 'module:function' from setup.py's entry_points (parsed, not executed)."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    entries = [ast.literal_eval(e) for e in value.elts]
                    return {e.split("=")[0].strip(): e.split("=")[1].strip() for e in entries}
    raise AssertionError("setup.py declares no console_scripts")


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _kw(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _docstrings(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def named_files(tree) -> list[str]:
    """Relative file paths the launch file names: string literals with a file suffix, and the
    literal tail of path joins (os.path.join(share, 'config', 'x.yaml'), PathJoinSubstitution)."""
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in {"join", "PathJoinSubstitution", "Path"}:
            args = node.args[0].elts if node.args and isinstance(node.args[0], (ast.List, ast.Tuple)) else node.args
            tail = []
            for a in args:
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    tail.append(a.value)
                    skip.add(id(a))
                else:
                    tail = []
            if tail and tail[-1].endswith(FILE_SUFFIXES):
                found.append("/".join(tail))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                and node.value.endswith(FILE_SUFFIXES) and " " not in node.value):
            found.append(node.value)
    return found


def test_there_are_launch_files():
    # the launch files the README tells users to run
    expected = {"record", "replay", "train", "deploy", "sim2sim"}
    assert expected <= {p.name.removesuffix(".launch.py") for p in LAUNCH_FILES}, LAUNCH_FILES


def test_setup_installs_launch_folder():
    assert 'tree("launch")' in (REPO / "setup.py").read_text()


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_references(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body), \
        f"{path.name}: no generate_launch_description()"
    scripts = console_scripts()
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _call_name(n) in NODE_CALLS]
    assert nodes, f"{path.name} starts no node"
    for call in nodes:
        package, executable = _kw(call, "package"), _kw(call, "executable") or _kw(call, "plugin")
        assert isinstance(package, ast.Constant) and package.value == "trirl_ros", \
            f"{path.name}:{call.lineno}: package must be the literal 'trirl_ros'"
        assert isinstance(executable, ast.Constant), f"{path.name}:{call.lineno}: executable must be a literal"
        name = executable.value
        assert name in scripts, f"{path.name}:{call.lineno}: executable {name!r} is not a console script in setup.py"
        module, func = scripts[name].split(":")
        module_file = REPO / (module.replace(".", "/") + ".py")
        assert module_file.is_file(), f"{path.name}: console script {name!r} -> {module_file} does not exist"
        mod_tree = ast.parse(module_file.read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == func for n in mod_tree.body), \
            f"{module_file.relative_to(REPO)} has no {func}()"
    for rel in named_files(tree):
        candidates = [REPO / rel, REPO / "config" / rel]
        assert any(c.exists() for c in candidates), f"{path.name} names {rel!r}, which does not exist in the package"


def test_reference_scanner_sees_joined_paths():
    """The scanner itself: a joined config path and a bare literal are both found."""
    src = ("import os\ndef generate_launch_description():\n"
           "    p = os.path.join(share, 'config', 'deploy', 'nope.yaml')\n    q = 'config/robots/go2.yaml'\n")
    assert named_files(ast.parse(src)) == ["config/deploy/nope.yaml", "config/robots/go2.yaml"]
