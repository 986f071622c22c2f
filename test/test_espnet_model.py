"""ESPnetCycleGANVCModel and the step it runs: the GAN-trainer contract, the update counter, the cache, conversion."""

import copy

import numpy as np
import pytest
import torch
from espnet2.layers.global_mvn import GlobalMVN

from conftest import D, G, batch, build_model, make_model
from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
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
    before_step.cyclegan._cache = None
    # The trainer steps the generators between the two turns (generator_first).
    with torch.no_grad():
        for p in model.cyclegan.generator["src_to_trg"].parameters():
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
    model = build_model(
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


# ------------------------------------------------ behaviour the fast loop must guard


def mvn(tmp_path, name, mean, std, dim=24):
    """A GlobalMVN with the given per-dimension mean and std (ESPnet's stats format)."""
    count = 100.0
    mean, std = np.full(dim, mean), np.full(dim, std)
    path = tmp_path / f"{name}.npz"
    np.savez(path, count=count, sum=mean * count, sum_square=(std**2 + mean**2) * count)
    return GlobalMVN(str(path))


def test_conversion_runs_the_direction_s_generator_with_its_speakers_statistics(tmp_path):
    torch.manual_seed(0)
    gens = [CycleGANVCGenerator(**G) for _ in range(2)]
    model = build_model(
        *gens, CycleGANVCDiscriminator(**D), CycleGANVCDiscriminator(**D),
        mvn(tmp_path, "src", 1.0, 2.0), mvn(tmp_path, "trg", -3.0, 0.5),
    ).eval()
    feats = torch.randn(40, 24)
    with torch.no_grad():
        # x -> normalise with the input speaker's statistics -> generator of the
        # direction -> denormalise with the output speaker's statistics.
        src_to_trg = gens[0](((feats - 1.0) / 2.0).T[None])[0].T * 0.5 - 3.0
        trg_to_src = gens[1](((feats + 3.0) / 0.5).T[None])[0].T * 2.0 + 1.0
    torch.testing.assert_close(model.convert(feats, "src_to_trg"), src_to_trg, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(model.convert(feats, "trg_to_src"), trg_to_src, atol=1e-4, rtol=1e-4)
    assert (src_to_trg - trg_to_src).abs().mean() > 0.5


def constant_discriminator(value):
    """A discriminator whose every output is `value` (last layer: zero weights, bias = value)."""
    d = CycleGANVCDiscriminator(**D)
    last = [m for m in d.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear))][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(value)
    return d


@pytest.mark.parametrize("loss_type", ["mse", "bce"])
def test_discriminator_loss_calls_real_real_and_fake_fake_on_both_sides(loss_type):
    torch.manual_seed(0)
    d_src, d_trg = 0.8, -0.4  # raw outputs (logits for bce)
    model = build_model(
        CycleGANVCGenerator(**G), CycleGANVCGenerator(**G), constant_discriminator(d_src),
        constant_discriminator(d_trg), None, None, adversarial_loss_type=loss_type,
    )
    stats = model(forward_generator=False, **batch())["stats"]
    if loss_type == "mse":
        real = lambda o: (o - 1.0) ** 2  # noqa: E731
        fake = lambda o: o**2  # noqa: E731
    else:
        real = lambda o: -np.log(1 / (1 + np.exp(-o)))  # noqa: E731
        fake = lambda o: -np.log(1 - 1 / (1 + np.exp(-o)))  # noqa: E731
    assert float(stats["discriminator_real_loss"]) == pytest.approx(real(d_src) + real(d_trg), rel=1e-5)
    assert float(stats["discriminator_fake_loss"]) == pytest.approx(fake(d_src) + fake(d_trg), rel=1e-5)


@pytest.mark.parametrize("cached", [True, False])
def test_discriminator_gradients_never_reach_the_generators(cached):
    model = make_model(two_step_adversarial=False)
    b = batch()
    if cached:
        model(forward_generator=True, **b)  # the discriminator turn reuses these outputs
    out = model(forward_generator=False, **b)
    out["loss"].backward()
    assert all(p.grad is None for p in model.cyclegan.generator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.cyclegan.discriminator.parameters())
