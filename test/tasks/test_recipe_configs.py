"""Every training configuration the recipes ship builds through the task.

A misspelt option or a network setting that does not fit would otherwise
first show at stage 4 of a recipe, after its data preparation. Each file in
conf/tuning/ goes through VCTask's own parser, model and optimiser builders,
then one generator turn and one discriminator turn on one short segment.
"""

import math

import pytest
import torch

from conftest import REPO_ROOT, batch
from espnet2_cyclegan_vc.tasks.vc import VCTask

CONFIGS = sorted((REPO_ROOT / "egs2").glob("*/vc1/conf/tuning/train_*.yaml"))


def test_the_recipes_ship_training_configurations():
    recipes = {p.relative_to(REPO_ROOT / "egs2").parts[0] for p in CONFIGS}
    assert {"vcc2016", "mini_vc"} <= recipes


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parts[-5]}/{p.name}")
def test_training_configuration_builds_and_takes_a_turn_of_each_network(config):
    args = VCTask.get_parser().parse_args(["--config", str(config)])
    torch.manual_seed(0)
    model = VCTask.build_model(args).train()
    optimizers = VCTask.build_optimizers(args, model)
    # ESPnet's GAN trainer takes two optimisers: generators, then discriminators
    owned = [{id(p) for group in o.param_groups for p in group["params"]} for o in optimizers]
    networks = model.cyclegan.generator, model.cyclegan.discriminator
    assert owned == [{id(p) for p in net.parameters()} for net in networks]
    assert set.union(*owned) == {id(p) for p in model.parameters() if p.requires_grad}
    # one segment of 64 frames: the paper's widths cost seconds per turn
    segment = {name: value[:1] for name, value in batch(frames=64).items()}
    for generator_turn, optimizer in zip((True, False), optimizers):
        loss = model(forward_generator=generator_turn, **segment)["loss"]
        assert math.isfinite(loss.item()), (config, generator_turn)
        loss.backward()
        optimizer.step()
        for o in optimizers:
            o.zero_grad()
