"""Training: task configs, the TrainingRun loop, imitation score, checkpoints and metrics.

Entry points: :func:`trirl_ros.core.train.task.load_task_config` and
:class:`trirl_ros.core.train.run.TrainingRun` (imported lazily: ``from trirl_ros.core.train.run
import TrainingRun``).
"""
