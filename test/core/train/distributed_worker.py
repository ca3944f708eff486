"""One rank of test_distributed.py's library-level run (torchrun's variables set by the test):
3 iterations, a resume, 2 more; writes what the test compares to OUT/rank<r>.json.

usage: distributed_worker.py RANK TASK_YAML RUN_DIR OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

def main(rank: int, task: str, run_dir: str, out: str) -> None:
    """One rank: 3 iterations, then a resume and 2 more; writes its digests to ``out``/rank<r>.json."""
    import torch

    from trirl_ros.core.train import distributed
    from trirl_ros.core.train.run import TrainingRun
    from trirl_ros.core.train.task import load_task_config

    torch.set_num_threads(1)
    ctx = distributed.from_environment("cpu")
    digests = {}
    cfg = load_task_config(task)
    run = TrainingRun.create(cfg, run_dir, tensorboard=False, dist=ctx)
    run.run(max_iterations=3)
    digests["first"] = distributed.state_digest(run.agent.state_dict()["policy"])
    digests["steps_first"] = run.env_steps
    run.close()
    run = TrainingRun.resume(run_dir, tensorboard=False, dist=ctx)
    digests["resumed_at"] = run.env_steps
    run.run(max_iterations=2)
    digests["second"] = distributed.state_digest(run.agent.state_dict()["learner"])
    digests["steps_second"] = run.env_steps
    # a state that differs between the ranks is caught
    digests["check_same"] = distributed.check_identical(digests["second"], ctx)
    digests["check_different"] = distributed.check_identical(f"{rank:064x}", ctx)
    run.close()
    distributed.shutdown(ctx)
    Path(out, f"rank{rank}.json").write_text(json.dumps(digests))




if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
