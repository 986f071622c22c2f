"""The paper's learning-rate schedule, built as ESPnet builds it from the recipe's config."""

import pytest
import torch
import yaml

from conftest import REPO_ROOT
from espnet2.tasks.abs_task import scheduler_classes
from espnet2_cyclegan_vc.schedulers.piecewise_linear_lr import PiecewiseLinearLR
from espnet2_cyclegan_vc.tasks.vc import VCTask

PAPER_CONFIG = REPO_ROOT / "egs2/vcc2016/vc1/conf/train_cyclegan_vc.yaml"
TINY_NETS = [
    "--generator_conf", "first_channels=4", "--generator_conf", "downsample_channels=[4,4]",
    "--generator_conf", "residual_hidden_channels=4", "--generator_conf", "num_residual_blocks=1",
    "--generator_conf", "upsample_channels=[8,8]",
    "--discriminator_conf", "first_channels=4", "--discriminator_conf", "downsample_channels=[4,4,4]",
]


def build_schedulers(args):
    """Optimizers from VCTask, schedulers exactly as AbsTask.main_worker makes them."""
    model = VCTask.build_model(args)
    optimizers = VCTask.build_optimizers(args, model)
    schedulers = []
    for suffix, optimizer in zip(("", "2"), optimizers):
        cls = scheduler_classes[getattr(args, f"scheduler{suffix}")]
        schedulers.append(cls(optimizer, **getattr(args, f"scheduler{suffix}_conf")))
    return optimizers, schedulers


@pytest.mark.parametrize("source", ["config", "parser_defaults"])
def test_paper_schedule_holds_zero_after_the_end(source):
    argv = ["--config", str(PAPER_CONFIG)] if source == "config" else []
    args = VCTask.get_parser().parse_args(argv + TINY_NETS)
    optimizers, schedulers = build_schedulers(args)
    expected = {  # step -> (generator lr, discriminator lr)
        0: (2e-4, 1e-4), 50_000: (2e-4, 1e-4), 100_000: (2e-4, 1e-4),
        150_000: (1e-4, 5e-5), 200_000: (0.0, 0.0), 250_000: (0.0, 0.0), 1_000_000: (0.0, 0.0),
    }
    done = 0
    for step, lrs in sorted(expected.items()):
        for scheduler in schedulers:
            # Jump ahead the way a resumed scheduler does (its state holds last_epoch).
            scheduler.last_epoch = step - 1
            scheduler.step()
        got = tuple(opt.param_groups[0]["lr"] for opt in optimizers)
        assert got == pytest.approx(lrs, abs=1e-12), f"step {step}: {got} != {lrs}"
        done += 1
    assert done == len(expected)


def test_schedule_steps_per_update_and_survives_a_state_dict_round_trip():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = PiecewiseLinearLR(opt, steps=[0, 4, 8], lrs=[1.0, 1.0, 0.0])
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(10):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    assert seen == pytest.approx([1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0])
    opt2 = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched2 = PiecewiseLinearLR(opt2, steps=[0, 4, 8], lrs=[1.0, 1.0, 0.0])
    sched2.load_state_dict(sched.state_dict())
    sched2.step()
    assert opt2.param_groups[0]["lr"] == 0.0


def test_espnet_scheduler_that_this_replaces_climbs_back():
    """Why the project does not use piecewiselinearwarmuplr for a decay to 0."""
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    sched = scheduler_classes["piecewiselinearwarmuplr"](
        opt, warmup_steps_list=[0, 100000, 200000], warmup_lr_list=[2e-4, 2e-4, 0.0]
    )
    sched.last_epoch = 300_000 - 1
    sched.step()
    assert opt.param_groups[0]["lr"] > 1e-4


@pytest.mark.parametrize("conf, match", [
    (dict(steps=[0, 10], lrs=[1.0]), "same"),
    (dict(steps=[0, 10, 10], lrs=[1.0, 1.0, 0.0]), "increase"),
    (dict(steps=[0, 10], lrs=[1.0, -1.0]), ">= 0"),
])
def test_bad_schedule_is_named(conf, match):
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match=match):
        PiecewiseLinearLR(opt, **conf)


def test_paper_config_names_the_holding_scheduler():
    conf = yaml.safe_load(PAPER_CONFIG.read_text())
    assert conf["scheduler"] == conf["scheduler2"] == "piecewiselinearlr"
