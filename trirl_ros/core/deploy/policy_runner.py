"""PolicyRunner: one ONNX policy on onnxruntime's CPU provider, tuned for a control loop.

Single-threaded session (intra/inter-op threads 1, sequential execution) so inference does not
fight the control loop for cores, and preallocated input/output buffers bound once through
IOBinding, so a step allocates nothing: :meth:`PolicyRunner.run` copies the observation into the
bound input buffer, runs, and returns a view of the bound output buffer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class PolicyRunner:
    """Run an ONNX policy with input ``obs`` (1, D) float32 and output ``action`` (1, A) float32.

    Args:
        onnx_path: the ``.onnx`` file.
        obs_dim: D expected from the spec; checked against the graph when the graph's width is static.
        action_dim: A expected from the spec; checked likewise.
        input_name / output_name: graph tensor names (from the spec).
    Raises:
        FileNotFoundError: no such file. ValueError: unreadable graph or interface mismatch.
    """

    def __init__(self, onnx_path: str | Path, obs_dim: int, action_dim: int,
                 input_name: str = "obs", output_name: str = "action") -> None:
        import onnxruntime as ort

        path = Path(onnx_path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX policy not found: {path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(f"cannot load ONNX policy {path}: {exc}") from exc
        inputs = {i.name: i for i in self._session.get_inputs()}
        outputs = {o.name: o for o in self._session.get_outputs()}
        if input_name not in inputs:
            raise ValueError(f"{path}: graph has no input '{input_name}' (inputs: {sorted(inputs)})")
        if output_name not in outputs:
            raise ValueError(f"{path}: graph has no output '{output_name}' (outputs: {sorted(outputs)})")
        _check_width(path, "input", inputs[input_name].shape, obs_dim)
        _check_width(path, "output", outputs[output_name].shape, action_dim)
        self.obs_dim = int(obs_dim)
        self.action_dim = int(action_dim)
        self._obs = np.zeros((1, self.obs_dim), dtype=np.float32)
        self._action = np.zeros((1, self.action_dim), dtype=np.float32)
        self._binding = self._session.io_binding()
        self._binding.bind_cpu_input(input_name, self._obs)
        self._binding.bind_output(output_name, "cpu", 0, np.float32, list(self._action.shape),
                                  self._action.ctypes.data)
        log.info("loaded ONNX policy %s (obs %d -> action %d)", path, self.obs_dim, self.action_dim)

    def run(self, obs: np.ndarray) -> np.ndarray:
        """One inference. ``obs``: (D,) or (1, D). Returns the (A,) action, a view of an internal
        buffer that the next call overwrites (copy it to keep it)."""
        flat = np.asarray(obs).reshape(-1)
        if flat.shape[0] != self.obs_dim:
            raise ValueError(f"observation has {flat.shape[0]} values, the policy expects {self.obs_dim}")
        self._obs[0, :] = flat
        self._session.run_with_iobinding(self._binding)
        return self._action[0]


def _check_width(path: Path, what: str, shape, expected: int) -> None:
    """The graph's (batch, width) shape must have the spec's width (a symbolic width is accepted)."""
    if len(shape) != 2:
        raise ValueError(f"{path}: {what} must be 2-D (batch, width), graph declares {shape}")
    width = shape[1]
    if isinstance(width, int) and width != expected:
        raise ValueError(f"{path}: graph {what} width is {width}, the policy spec says {expected}")
