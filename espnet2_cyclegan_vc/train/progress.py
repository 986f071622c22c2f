"""Progress of a training run in its log: updates done, speed and time left."""

import argparse
import datetime
import logging
import time
from typing import Callable, Optional

import torch


def _duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))


class TrainingProgress:
    """Logs, every ``interval`` generator updates, a line such as

        3epoch:train:progress: updates=600/20000, updates_per_s=4.12,
        epoch_time_left=0:00:36, time_left=1:18:29

    in the style of ESPnet's trainer log. The speed is the mean since the
    first update this process made (a resumed run starts its own clock), so
    validation and checkpoint time are part of it and of the estimates.
    """

    def __init__(
        self,
        updates_per_epoch: int,
        max_epoch: int,
        interval: Optional[int] = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        """Initialize TrainingProgress.

        Args:
            updates_per_epoch: Generator updates in one epoch (num_iters_per_epoch).
            max_epoch: Epochs of the whole run.
            interval: Updates between two lines; default a fifth of an epoch.
            clock: Seconds source (a test gives its own).
        """
        if updates_per_epoch < 1 or max_epoch < 1:
            raise ValueError(f"updates_per_epoch and max_epoch must be >= 1, got {updates_per_epoch}, {max_epoch}")
        self.updates_per_epoch = updates_per_epoch
        self.total_updates = updates_per_epoch * max_epoch
        self.interval = interval or max(1, updates_per_epoch // 5)
        self.clock = clock
        self._start = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Optional["TrainingProgress"]:
        """The progress of the training that args configure, or None when its
        epoch length is not fixed (num_iters_per_epoch unset)."""
        per_epoch = getattr(args, "num_iters_per_epoch", None)
        max_epoch = getattr(args, "max_epoch", None)
        if not per_epoch or not max_epoch:
            return None
        return cls(per_epoch, max_epoch)

    def update(self, num_updates: int) -> Optional[str]:
        """Count a generator update; log (and return) a line when one is due.

        Args:
            num_updates: Generator updates of the run so far, this one included.
        """
        now = self.clock()
        if self._start is None:
            self._start = (num_updates, now)
            # What this training process computes with (OMP_NUM_THREADS, which
            # the recipe's --train_threads sets); logged once, when it trains.
            logging.info(f"CPU threads: {torch.get_num_threads()}")
            return None
        if num_updates % self.interval != 0:
            return None
        done, elapsed = num_updates - self._start[0], now - self._start[1]
        if done <= 0 or elapsed <= 0:
            return None
        rate = done / elapsed
        epoch = (num_updates - 1) // self.updates_per_epoch + 1
        left_in_epoch = epoch * self.updates_per_epoch - num_updates
        left = max(self.total_updates - num_updates, 0)
        line = (
            f"{epoch}epoch:train:progress: updates={num_updates}/{self.total_updates}, "
            f"updates_per_s={rate:.2f}, epoch_time_left={_duration(left_in_epoch / rate)}, "
            f"time_left={_duration(left / rate)}"
        )
        logging.info(line)
        return line
