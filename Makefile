# trirl_ros developer entry points. `make demo` and `make test` work on a fresh machine:
# both run the idempotent `make setup` first (a stamp file makes the second run instant).
#
# Extending: add your target below with its own `## section` comment; depend on `setup` (or on
# $(STAMP)) to get the venv, and use $(VPY) for Python.

PYTHON      ?= python3
VENV        ?= .venv
VPY         := $(VENV)/bin/python
STAMP       := $(VENV)/.trirl-setup-stamp
# torch is installed FIRST and pinned (never unpinned). The CPU wheel is taken from the PyTorch
# CPU index (plus your pip configuration's find-links/extra indexes); when that index cannot be
# reached the same pin is installed from your configured indexes. TORCH_INDEX= skips the CPU index.
TORCH       := torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# Real ROS 2 (Kilted) from PyPI. tf2_msgs has no PyPI wheel: tf2 is read from bags via rosbags.
ROS_WHEELS  := ros-rclpy ros-rmw-fastrtps-cpp ros-std-msgs ros-sensor-msgs ros-geometry-msgs \
               ros-nav-msgs ros-std-srvs ros-diagnostic-msgs ros-lifecycle-msgs ros-builtin-interfaces
# Set VENV_FLAGS=--system-site-packages to reuse a sourced ROS 2 install (see docs/setup.md).
VENV_FLAGS  ?=
PIP_ROS     ?= 1

# Unitree MJCF models: TRIRL_ROBOTS_DIR, defaulting to ../shared/robots when present.
SHARED_ROBOTS := $(abspath $(CURDIR)/../shared/robots)
ifeq ($(origin TRIRL_ROBOTS_DIR), undefined)
ifneq ($(wildcard $(SHARED_ROBOTS)/unitree_g1),)
export TRIRL_ROBOTS_DIR := $(SHARED_ROBOTS)
endif
endif

.PHONY: setup test demo clean-venv

## setup: create .venv and install torch (pinned), this package (editable) and ROS 2 wheels
setup: $(STAMP) dds unitree_msgs render-deps

$(STAMP): setup.py
	test -x $(VPY) || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(if $(TORCH_INDEX),$(VPY) -m pip install --retries 0 --timeout 20 --index-url $(TORCH_INDEX) "$(TORCH)" || )$(VPY) -m pip install "$(TORCH)"
	$(VPY) -m pip install -e ".[test]"
	if [ "$(PIP_ROS)" = "1" ]; then $(VPY) -m pip install $(ROS_WHEELS); fi
	$(VPY) -c "import torch, mujoco, rclpy; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

## test: set up, then run the whole test suite
test: setup
	@$(VPY) -m pytest test -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5) - failing" >&2; exit 1; fi; \
	exit $$rc

## demo: set up, then the whole pipeline on embedded defaults (~5-10 min on 2 cores): import the
## Go2 and G1 mocap, train TRIRL on CPU (progress bar, imitation score), export ONNX, run the Go2
## policy through the deploy stack in sim2sim, plot; then the shipped Go2 model (models/go2_trot)
## in sim2sim with its video; the last line says which policy walked and how far
DEMO_DIR    ?= runs/demo
DEMO_GO2    ?= total_steps=100000
DEMO_G1     ?= total_steps=16384
demo: setup
	$(VENV)/bin/trirl robots check
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(VENV)/bin/trirl demos import ../shared/mocap/go2/amp_go2_trot0.txt --robot go2 -o $(DEMO_DIR)/go2_trot.npz
	$(VENV)/bin/trirl demos import ../shared/mocap/g1/locomujoco_g1_walk_constspeed.npz --robot g1_29dof \
		--ground clip -o $(DEMO_DIR)/g1_walk.npz
	$(VENV)/bin/trirl train --config config/tasks/go2_trot.yaml --run-dir $(DEMO_DIR)/go2_trot \
		--set dataset.source=$(abspath $(DEMO_DIR))/go2_trot.npz --set $(DEMO_GO2)
	$(VENV)/bin/trirl train --config config/tasks/g1_walk.yaml --run-dir $(DEMO_DIR)/g1_walk \
		--set dataset.source=$(abspath $(DEMO_DIR))/g1_walk.npz --set $(DEMO_G1)
	$(VENV)/bin/trirl sim2sim --robot go2 --policy $(DEMO_DIR)/go2_trot/policy.onnx --seconds 10
	$(VENV)/bin/trirl plot $(DEMO_DIR)/go2_trot $(DEMO_DIR)/g1_walk
	$(VENV)/bin/trirl rollout $(DEMO_DIR)/go2_trot --video $(DEMO_DIR)/go2_trot.mp4
	@echo "== the shipped Go2 policy (models/go2_trot, see its MODEL_CARD.md) through the deploy stack =="
	$(VENV)/bin/trirl rollout models/go2_trot --seconds 10 --video $(DEMO_DIR)/go2_trot_shipped.mp4
	$(VENV)/bin/trirl sim2sim --robot go2 --policy models/go2_trot/policy.onnx --seconds 10 | tee $(DEMO_DIR)/shipped_sim2sim.txt
	@echo "demo: the short run above shows the pipeline; the policy that walked is the shipped one:"
	@echo "demo: models/go2_trot/policy.onnx ($$(grep -o -m1 'tracking baseline\|TRIRL' models/go2_trot/MODEL_CARD.md)) in sim2sim for 10 s: $$(tail -n 1 $(DEMO_DIR)/shipped_sim2sim.txt); video $(DEMO_DIR)/go2_trot_shipped.mp4"

## clean-venv: remove the virtual environment (the next `make setup` recreates it)
clean-venv:
	rm -rf $(VENV)

## dds: CycloneDDS 0.10.2 (Debian, the robots' version) + the cyclonedds==0.10.2 Python binding
## built against it (Unitree DDS backend, sim_robot). Idempotent: instant when already installed.
.PHONY: dds
dds: $(STAMP)
	bash tools/install_cyclonedds.sh $(VPY)

## unitree_msgs: build the unitree_hg / unitree_go ROS 2 message packages (LowCmd, LowState, ...)
## with cmake from the ROS wheels into .deps/unitree_msgs (about 3 min once; then instant).
## `setup` builds them too and fails when they do not build (verified on a clean clone: dds +
## unitree_msgs build, `make setup` exits 0); their tests fail, never skip, without them.
.PHONY: unitree_msgs
unitree_msgs: $(STAMP)
	bash tools/build_unitree_msgs.sh $(VPY)

## render-deps: Mesa EGL from Debian so `trirl rollout --video` renders offscreen (MUJOCO_GL=egl).
## Idempotent: apt-get runs only when a probe render with EGL fails (apt-get update only if needed).
RENDER_DEBS := libegl1 libegl-mesa0 libgl1-mesa-dri
EGL_PROBE   := $(VPY) -c "import sys; from trirl_ros.core.viz.gl import probe; e = probe('egl'); e and print('EGL probe:', e); sys.exit(e is not None)"
.PHONY: render-deps
render-deps: $(STAMP)
	@if $(EGL_PROBE); then echo "render-deps: EGL offscreen rendering works"; else \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y --no-install-recommends $(RENDER_DEBS) || \
	    { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(RENDER_DEBS); } && \
	  $(EGL_PROBE); fi
