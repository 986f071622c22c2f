"""The training log's progress lines: updates, speed, time left."""

import argparse
import logging

import torch

from espnet2_cyclegan_vc.train.progress import TrainingProgress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_lines_report_speed_and_time_left_of_the_epoch_and_the_run(caplog):
    clock = Clock()
    progress = TrainingProgress(updates_per_epoch=100, max_epoch=3, interval=50, clock=clock)
    lines = []
    with caplog.at_level(logging.INFO):
        for update in range(1, 151):  # 4 updates per second after the first
            lines.append(progress.update(update))
            clock.now += 0.25
    logged = [line for line in lines if line]
    assert len(logged) == 3 and logged[0] in caplog.text
    # update 50: 49 updates in 12.25 s since the first; 50 left in epoch 1, 250 in the run
    assert logged[0] == ("1epoch:train:progress: updates=50/300, updates_per_s=4.00, "
                         "epoch_time_left=0:00:12, time_left=0:01:02")
    assert logged[1].startswith("1epoch:train:progress: updates=100/300,") and "epoch_time_left=0:00:00" in logged[1]
    assert logged[2].startswith("2epoch:train:progress: updates=150/300,") and logged[2].endswith("time_left=0:00:38")


def test_a_resumed_run_counts_from_its_own_first_update():
    clock = Clock()
    progress = TrainingProgress(updates_per_epoch=100, max_epoch=3, interval=10, clock=clock)
    progress.update(201)
    clock.now += 9.0
    assert progress.update(210) == ("3epoch:train:progress: updates=210/300, updates_per_s=1.00, "
                                    "epoch_time_left=0:01:30, time_left=0:01:30")


def test_no_progress_without_a_fixed_epoch_length():
    assert TrainingProgress.from_args(argparse.Namespace(num_iters_per_epoch=None, max_epoch=10)) is None
    progress = TrainingProgress.from_args(argparse.Namespace(num_iters_per_epoch=250, max_epoch=80))
    assert progress.total_updates == 20000 and progress.interval == 50


def test_the_first_update_logs_the_cpu_threads_once(caplog):
    progress = TrainingProgress(updates_per_epoch=100, max_epoch=3, interval=50, clock=Clock())
    with caplog.at_level(logging.INFO):
        for update in range(1, 4):
            progress.update(update)
    assert caplog.text.count(f"CPU threads: {torch.get_num_threads()}\n") == 1
