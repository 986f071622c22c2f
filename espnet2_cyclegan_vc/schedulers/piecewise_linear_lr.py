"""Piecewise-linear learning rate that holds its last value."""

from typing import List, Union

import numpy as np
import torch
from torch.optim.lr_scheduler import _LRScheduler
from typeguard import typechecked

from espnet2.schedulers.abs_scheduler import AbsBatchStepScheduler


class PiecewiseLinearLR(_LRScheduler, AbsBatchStepScheduler):
    """Learning rate interpolated linearly between (step, lr) points.

    Before the first point the rate is the first value; after the last point it
    stays at the last value for any number of further steps. ESPnet's
    ``piecewiselinearwarmuplr`` differs there: past its last point it follows
    ``lr * sqrt(last_step / step)``, so a schedule that decays to 0 at 2e5
    updates climbs back towards the initial rate when training is extended.

    The GAN trainer steps each scheduler after its own optimizer, so
    ``step`` counts that optimizer's updates.
    """

    @typechecked
    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        steps: List[Union[int, float]] = [0, 100000, 200000],
        lrs: List[float] = [2.0e-4, 2.0e-4, 0.0],
        last_epoch: int = -1,
    ):
        """Initialize PiecewiseLinearLR.

        Args:
            optimizer: Optimizer whose learning rate is set (all its groups).
            steps: Increasing update counts of the points.
            lrs: Learning rate at each point (same length as steps).
            last_epoch: Index of the last update (-1: start).
        """
        if len(steps) != len(lrs) or not steps:
            raise ValueError(
                f"scheduler_conf: steps and lrs need the same, non-zero length (got {len(steps)} and {len(lrs)})"
            )
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError(f"scheduler_conf: steps must increase strictly, got {list(steps)}")
        if any(lr < 0 for lr in lrs):
            raise ValueError(f"scheduler_conf: lrs must be >= 0, got {list(lrs)}")
        self.steps = [float(s) for s in steps]
        self.lrs = [float(lr) for lr in lrs]
        super().__init__(optimizer, last_epoch)

    def __repr__(self):
        return f"{self.__class__.__name__}(steps={self.steps}, lrs={self.lrs})"

    def get_lr(self):
        # np.interp holds the end values outside [steps[0], steps[-1]].
        lr = float(np.interp(self.last_epoch, self.steps, self.lrs))
        return [lr for _ in self.base_lrs]
