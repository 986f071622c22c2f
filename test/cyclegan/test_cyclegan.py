"""The CycleGAN step with batched passes against a straightforward computation.

For each model of the family, the losses and every parameter's gradient of
both turns must equal those of a reference written out pass by pass (one
network call per input, the losses from their definitions), on the same
inputs and seed.
"""

import pytest
import torch
import torch.nn.functional as F

from conftest import D, G, batch, build_model
from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator
from espnet2_cyclegan_vc.cyclegan_vc2.discriminator import PatchGANDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc2.generator import CycleGANVC2Generator

G2 = dict(first_channels=8, downsample_channels=[8, 16], bottleneck_channels=16, residual_hidden_channels=16,
          num_residual_blocks=1, upsample_channels=[32, 16])
PD = dict(first_channels=8, downsample_channels=[8, 16, 16])
LAMBDA_CYCLE, LAMBDA_IDENTITY = 10.0, 5.0


def family_model(variant: str, loss_type: str, **kw):
    torch.manual_seed(0)
    if variant == "cyclegan_vc":
        g = [CycleGANVCGenerator(**G) for _ in range(2)]
        d = [CycleGANVCDiscriminator(**D) for _ in range(2)]
        conf = {}
    else:
        g = [CycleGANVC2Generator(**G2, mask_channel=variant == "maskcyclegan_vc") for _ in range(2)]
        d = [PatchGANDiscriminator(**PD) for _ in range(4)]
        conf = dict(two_step_adversarial=True, discriminator_src_cycle=d[2], discriminator_trg_cycle=d[3])
        if variant == "maskcyclegan_vc":
            conf["fif_max_frames"] = 12
    return build_model(*g, d[0], d[1], adversarial_loss_type=loss_type, lambda_cycle=LAMBDA_CYCLE,
                       lambda_identity=LAMBDA_IDENTITY, **conf, **kw).train()


def adversarial(outputs, label: float, loss_type: str):
    target = torch.full_like(outputs, label)
    if loss_type == "bce":
        return F.binary_cross_entropy_with_logits(outputs, target)
    return ((outputs - target) ** 2).mean()


def reference_turns(model, b, seed, loss_type):
    """Both turns pass by pass: (generator loss, discriminator loss)."""
    cg = model.cyclegan
    g_xy, g_yx = cg.generator["src_to_trg"], cg.generator["trg_to_src"]
    d = cg.discriminator
    x, y = b["src_feats"].transpose(1, 2), b["trg_feats"].transpose(1, 2)
    torch.manual_seed(seed)
    mask_x, mask_y = cg.fif_mask(x), cg.fif_mask(y)
    fake_y = g_xy(x) if mask_x is None else g_xy(x, mask_x)
    fake_x = g_yx(y) if mask_y is None else g_yx(y, mask_y)
    cycle_x, cycle_y = g_yx(fake_y), g_xy(fake_x)
    loss_g = adversarial(d["trg"](fake_y), 1.0, loss_type) + adversarial(d["src"](fake_x), 1.0, loss_type)
    loss_g = loss_g + LAMBDA_CYCLE * ((cycle_x - x).abs().mean() + (cycle_y - y).abs().mean())
    if cg.two_step_adversarial:
        loss_g = loss_g + adversarial(d["src_cycle"](cycle_x), 1.0, loss_type)
        loss_g = loss_g + adversarial(d["trg_cycle"](cycle_y), 1.0, loss_type)
    loss_g = loss_g + LAMBDA_IDENTITY * ((g_xy(y) - y).abs().mean() + (g_yx(x) - x).abs().mean())

    judged = [("trg", y, fake_y), ("src", x, fake_x)]
    if cg.two_step_adversarial:
        judged += [("src_cycle", x, cycle_x), ("trg_cycle", y, cycle_y)]
    loss_d = sum(
        adversarial(d[name](real), 1.0, loss_type) + adversarial(d[name](fake.detach()), 0.0, loss_type)
        for name, real, fake in judged
    )
    return loss_g, loss_d


def gradients(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward(retain_graph=True)
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("loss_type", ["mse", "bce"])
@pytest.mark.parametrize("variant", ["cyclegan_vc", "cyclegan_vc2", "maskcyclegan_vc"])
def test_batched_step_equals_the_pass_by_pass_computation(variant, loss_type):
    model = family_model(variant, loss_type)
    assert model.cyclegan.batched_passes
    b = batch(frames=32)
    seed = 3
    torch.manual_seed(seed)
    out_g = model(forward_generator=True, **b)
    grads_g = gradients(model, out_g["loss"])
    out_d = model(forward_generator=False, **b)
    grads_d = gradients(model, out_d["loss"])

    ref_g, ref_d = reference_turns(model, b, seed, loss_type)
    torch.testing.assert_close(out_g["loss"].reshape(()), ref_g, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out_d["loss"].reshape(()), ref_d, rtol=1e-5, atol=1e-6)
    ref_grads_g, ref_grads_d = gradients(model, ref_g), gradients(model, ref_d)
    # The generator turn computes the generators' gradients only: the
    # discriminators' would be zeroed unused (GANTrainer), so they are left
    # out of its graph. The discriminator turn reaches only the discriminators.
    generator_params = {k for k, _ in model.named_parameters() if k.startswith("cyclegan.generator.")}
    assert grads_g.keys() == generator_params and generator_params < ref_grads_g.keys()
    assert grads_d.keys() == ref_grads_d.keys() and all(k.startswith("cyclegan.discriminator.") for k in grads_d)
    assert all(p.requires_grad for p in model.parameters())  # restored after the generator turn
    for name in grads_g:
        torch.testing.assert_close(grads_g[name], ref_grads_g[name], rtol=1e-4, atol=1e-6, msg=name)
    for name in ref_grads_d:
        torch.testing.assert_close(grads_d[name], ref_grads_d[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("variant", ["cyclegan_vc", "maskcyclegan_vc"])
def test_batched_and_separate_passes_train_alike(variant):
    """Three updates of each turn: the two orders keep the same weights.

    SGD, not Adam: a convolution's bias before an instance norm has a zero
    gradient up to rounding, which Adam would scale up to full steps.
    """
    models = [family_model(variant, "mse", batched_passes=batched) for batched in (True, False)]
    states = []
    for model in models:
        opt_g = torch.optim.SGD(model.cyclegan.generator.parameters(), 0.05)
        opt_d = torch.optim.SGD(model.cyclegan.discriminator.parameters(), 0.05)
        torch.manual_seed(7)
        for step in range(3):
            b = batch(seed=step, frames=32)
            for opt, generator_turn in ((opt_g, True), (opt_d, False)):
                opt.zero_grad()
                model(forward_generator=generator_turn, **b)["loss"].backward()
                opt.step()
        states.append(model.state_dict())
    for name, value in states[1].items():
        torch.testing.assert_close(states[0][name], value, rtol=1e-4, atol=1e-5, msg=name)
    start = family_model(variant, "mse").state_dict()
    assert any(not torch.equal(start[k], v) for k, v in states[0].items() if v.is_floating_point())


def test_validation_with_speakers_of_different_lengths_falls_back_to_separate_passes():
    model = family_model("cyclegan_vc", "mse").eval()
    b = batch(frames=32)
    b["trg_feats"] = b["trg_feats"][:, :24]
    b["trg_feats_lengths"] = torch.full_like(b["trg_feats_lengths"], 24)
    with torch.no_grad():
        stats = model(forward_generator=True, **b)["stats"]
        model(forward_generator=False, **b)
    assert stats["generator_identity_loss"] > 0
