"""Joint training: every task at once, each through its own pipeline (the upper bound).

Not a phase-by-phase method: the comparison trains it as one run (`reid.runs.joint_spec`) whose
sources are all the tasks; each batch comes from one task and trains that task's pipeline.
"""

from __future__ import annotations

from reid.strategies.base import Strategy, register_strategy


@register_strategy("joint", "joint training", order=40, reads=(), sequential=False)
class JointStrategy(Strategy):
    """Plain cross-entropy on the pipeline of the batch's task; nothing is frozen."""
