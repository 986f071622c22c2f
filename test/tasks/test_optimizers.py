"""Fused Adam in the recipes' CPU configurations.

The optimisers ESPnet's task builds from those files are fused, and training
with them computes what the loop implementation computes (the same Adam
update, one kernel per parameter group instead of several per tensor): a
speed setting, not another training.
"""

import pytest
import torch

from conftest import D, G, REPO_ROOT, batch
from espnet2_cyclegan_vc.tasks.vc import VCTask

CPU_CONFIGS = {
    "vcc2016": REPO_ROOT / "egs2/vcc2016/vc1/conf/train_cyclegan_vc_cpu.yaml",
    "mini": REPO_ROOT / "egs2/mini_vc/vc1/conf/train_mini.yaml",
}
TINY = {"generator_conf": G, "discriminator_conf": D}  # conftest's tiny networks


def task_args(config, **options):
    args = VCTask.get_parser().parse_args(["--config", str(config)])
    for name, value in options.items():
        setattr(args, name, value)
    return args


@pytest.mark.parametrize("recipe", sorted(CPU_CONFIGS))
def test_cpu_configurations_build_fused_adam(recipe):
    args = task_args(CPU_CONFIGS[recipe])
    optimizers = VCTask.build_optimizers(args, VCTask.build_model(args))
    assert [type(o) for o in optimizers] == [torch.optim.Adam, torch.optim.Adam]
    assert [o.defaults["fused"] for o in optimizers] == [True, True]


def train_and_probe(config, fused: bool, updates: int = 4):
    """A few updates as ESPnet's GANTrainer makes them (generator turn first,
    both optimisers zeroed after each turn), then every network's output on a
    fixed input."""
    args = task_args(config, **TINY)
    for option in ("optim_conf", "optim2_conf"):
        setattr(args, option, {**getattr(args, option), "fused": fused})
    torch.manual_seed(0)
    model = VCTask.build_model(args).train()
    optimizers = VCTask.build_optimizers(args, model)
    for step in range(updates):
        b = batch(seed=step, frames=32)
        for generator_turn, optimizer in zip((True, False), optimizers):
            model(forward_generator=generator_turn, **b)["loss"].backward()
            optimizer.step()
            for o in optimizers:
                o.zero_grad()
    # Outputs, not weights: a convolution bias before an instance norm has a
    # zero gradient up to rounding, which Adam scales to a full step of either
    # sign, and which the norm then removes again.
    x = batch(seed=99, frames=32)["src_feats"].transpose(1, 2)
    cyclegan = model.cyclegan.eval()
    with torch.no_grad():
        return {name: net(x) for group in (cyclegan.generator, cyclegan.discriminator)
                for name, net in group.items()}


def test_fused_adam_trains_like_the_loop_implementation():
    config = CPU_CONFIGS["vcc2016"]
    fused, loop = train_and_probe(config, True), train_and_probe(config, False)
    for name, out in loop.items():
        torch.testing.assert_close(fused[name], out, rtol=1e-5, atol=1e-5, msg=name)
    untrained = train_and_probe(config, False, updates=0)
    assert all(not torch.allclose(untrained[name], out, atol=1e-3) for name, out in loop.items())
