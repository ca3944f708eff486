#!/usr/bin/env bash
# Install Eclipse Cyclone DDS 0.10.2 (the version Unitree robots run) and its Python binding.
#
# Debian 12 ships cyclonedds-dev 0.10.2, but puts libddsc in /usr/lib/<triplet>, while the
# `cyclonedds` Python package's build looks for $CYCLONEDDS_HOME/{lib,include,bin}. We therefore
# build a small prefix of symlinks in .deps/cyclonedds and build cyclonedds==0.10.2 against it.
# Idempotent: does nothing if the binding already imports with the right version.
#
# Usage: tools/install_cyclonedds.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-$ROOT/.venv/bin/python}"
VERSION=0.10.2
PREFIX="$ROOT/.deps/cyclonedds"

check() {
    "$PY" - "$VERSION" <<'PYEOF' 2>/dev/null
import importlib.metadata, os, sys
import cyclonedds.domain  # loads libddsc
from cyclonedds.__library__ import library_path
ok = importlib.metadata.version("cyclonedds") == sys.argv[1] and os.path.exists(library_path)
sys.exit(0 if ok else 1)
PYEOF
}
if check; then
    echo "cyclonedds $VERSION already importable by $PY"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if ! dpkg -s cyclonedds-dev >/dev/null 2>&1 || ! command -v idlc >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -qq cyclonedds-dev cyclonedds-tools \
        || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq cyclonedds-dev cyclonedds-tools; }
fi

LIBDIR="$(dirname "$(readlink -f "$(ldconfig -p | awk '/libddsc\.so[^.]/{print $NF; exit}')" 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/libddsc.so)")"
[ -e "$LIBDIR/libddsc.so" ] || LIBDIR="/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
[ -e "$LIBDIR/libddsc.so" ] || { echo "libddsc.so not found (is cyclonedds-dev installed?)" >&2; exit 1; }

mkdir -p "$PREFIX/lib" "$PREFIX/bin"
for f in "$LIBDIR"/libddsc.so* "$LIBDIR"/libcycloneddsidl.so*; do ln -sfn "$f" "$PREFIX/lib/"; done
ln -sfn "$LIBDIR/cmake" "$PREFIX/lib/cmake"
ln -sfn /usr/include "$PREFIX/include"
for b in idlc ddsperf; do ln -sfn "/usr/bin/$b" "$PREFIX/bin/$b"; done

# --no-cache-dir: the built wheel records the absolute library path of this prefix, so a wheel
# cached from another checkout must not be reused; --no-binary: always build against 0.10.2 here.
PIP=("$PY" -m pip install -q --no-cache-dir --force-reinstall --no-deps --no-binary cyclonedds)
CYCLONEDDS_HOME="$PREFIX" "${PIP[@]}" --no-build-isolation "cyclonedds==$VERSION" \
    || CYCLONEDDS_HOME="$PREFIX" "${PIP[@]}" "cyclonedds==$VERSION"
"$PY" -m pip install -q rich-click  # the binding's only dependency (CLI tools)
check || { echo "cyclonedds $VERSION installed but does not import" >&2; exit 1; }
echo "cyclonedds $VERSION installed (CYCLONEDDS_HOME=$PREFIX)"
