"""ESPnetCycleGANVCModel: the GAN-trainer contract, the update counter, the cache."""

import copy

import numpy as np
import pytest
import torch
from espnet2.layers.global_mvn import GlobalMVN

from conftest import D, G, batch, make_model
from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc.espnet_model import ESPnetCycleGANVCModel
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator


def test_trainer_contract():
    model = make_model()
    b = batch()
    out_g = model(forward_generator=True, **b)
    out_d = model(forward_generator=False, **b)
    assert out_g["optim_idx"] == 0 and out_d["optim_idx"] == 1
    assert out_g["loss"].requires_grad and out_d["loss"].requires_grad
    assert {"generator_adv_loss", "generator_cycle_loss", "generator_identity_loss"} <= set(out_g["stats"])
    assert int(out_g["weight"]) == 2


def test_discriminator_turn_reuses_generator_outputs_of_the_same_batch():
    model = make_model()
    b = batch()
    model(forward_generator=True, **b)
    before_step = copy.deepcopy(model)
    before_step._cache = None
    # The trainer steps the generators between the two turns (generator_first).
    with torch.no_grad():
        for p in model.generator["src_to_trg"].parameters():
            p.add_(0.05 * torch.randn_like(p))
    cached = model(forward_generator=False, **b)["loss"].item()
    recomputed = model(forward_generator=False, **b)["loss"].item()  # cache was consumed
    pre_step = before_step(forward_generator=False, **b)["loss"].item()
    # The cached turn judged the outputs of the generator turn, not new ones.
    assert cached == pytest.approx(pre_step, abs=1e-6)
    assert abs(cached - recomputed) > 1e-4
    # A cache from another batch must not be used.
    model = make_model()
    model(forward_generator=True, **batch(seed=1))
    other = make_model()
    assert model(forward_generator=False, **b)["loss"].item() == pytest.approx(
        other(forward_generator=False, **b)["loss"].item(), abs=1e-6)


def test_batch_is_not_modified_in_place(tmp_path):
    path = tmp_path / "stats.npz"
    np.savez(path, count=np.array(10), sum=np.full(24, 5.0), sum_square=np.full(24, 50.0))
    model = ESPnetCycleGANVCModel(
        CycleGANVCGenerator(**G), CycleGANVCGenerator(**G), CycleGANVCDiscriminator(**D),
        CycleGANVCDiscriminator(**D), GlobalMVN(path), GlobalMVN(path),
    )
    b = batch()
    before = b["src_feats"].clone()
    with torch.no_grad():  # GlobalMVN normalises in place when no grad is needed
        model(forward_generator=False, **b)
    assert torch.equal(b["src_feats"], before)


def test_update_counter_drives_identity_loss_and_survives_reload():
    model = make_model(identity_loss_updates=2)
    b = batch()
    weights = [model(forward_generator=True, **b)["stats"]["identity_weight"].item() for _ in range(3)]
    assert weights == [5.0, 5.0, 0.0]
    assert int(model.num_updates) == 3
    model.eval()
    model(forward_generator=True, **b)
    assert int(model.num_updates) == 3  # validation does not count
    restored = make_model(identity_loss_updates=2)
    restored.load_state_dict(model.state_dict())
    restored.train()
    assert restored(forward_generator=True, **b)["stats"]["identity_weight"].item() == 0.0


def test_non_finite_loss_stops_with_the_update_number():
    model = make_model()
    b = batch()
    model(forward_generator=True, **b)
    b["src_feats"][0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="generator update 1"):
        model(forward_generator=True, **b)


def test_missing_target_data_is_named():
    model = make_model()
    b = batch()
    del b["trg_feats"]
    with pytest.raises(ValueError, match="trg_feats"):
        model(forward_generator=True, **b)
