"""CycleGAN-VC2 and MaskCycleGAN-VC: networks, gated units, the two-step
adversarial loss and filling in frames, as options of the one model."""

import pytest
import torch

from conftest import batch, build_model
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator
from espnet2_cyclegan_vc.cyclegan_vc2.discriminator import PatchGANDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc2.generator import CycleGANVC2Generator
from espnet2_cyclegan_vc.layers.gated_conv import GatedConv1d, GatedConv2d

G2 = dict(first_channels=8, downsample_channels=[8, 16], bottleneck_channels=16, residual_hidden_channels=16,
          num_residual_blocks=1, upsample_channels=[32, 16])
PD = dict(first_channels=8, downsample_channels=[8, 16, 16])


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def make_variant(two_step=True, fif=0, **kw):
    torch.manual_seed(0)
    g = [CycleGANVC2Generator(**G2, mask_channel=fif > 0) for _ in range(2)]
    d = [PatchGANDiscriminator(**PD) for _ in range(4 if two_step else 2)]
    extra = dict(discriminator_src_cycle=d[2], discriminator_trg_cycle=d[3]) if two_step else {}
    return build_model(*g, d[0], d[1], None, None, **extra,
                       two_step_adversarial=two_step, fif_max_frames=fif, **kw)


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("frames", [1, 37, 64, 128, 301])
@pytest.mark.parametrize("mask_channel", [False, True])
def test_vc2_generator_accepts_any_length(frames, mask_channel):
    g = CycleGANVC2Generator(**G2, mask_channel=mask_channel)
    x = torch.randn(2, 24, frames)
    assert g(x).shape == (2, 24, frames)


@pytest.mark.parametrize("frames,expected", [(128, 16), (100, 13), (5, 1)])
def test_patchgan_gives_a_map_of_patch_logits(frames, expected):
    d = PatchGANDiscriminator(**PD)
    assert d(torch.randn(3, 24, frames)).shape == (3, 3, expected)  # 24 -> 12 -> 6 -> 3 bins


def test_patchgan_is_fully_convolutional():
    """No fully connected layer: the map grows with the input (instance norm
    still lets every logit see the whole segment's statistics)."""
    d = PatchGANDiscriminator(**PD)
    assert not any(isinstance(m, torch.nn.Linear) for m in d.modules())
    assert d(torch.randn(1, 24, 256)).shape[-1] == 2 * d(torch.randn(1, 24, 128)).shape[-1]


def test_paper_width_parameter_counts():
    """Printed for the README; the VC2 generator is narrower than CycleGAN-VC's 1-D one."""
    vc2, mask, patch = CycleGANVC2Generator(), CycleGANVC2Generator(mask_channel=True), PatchGANDiscriminator()
    counts = {"cyclegan_vc2": num_params(vc2), "mask": num_params(mask), "patchgan": num_params(patch)}
    print(counts)
    # the mask plane adds the first convolution's weights for one more input plane
    assert counts["mask"] - counts["cyclegan_vc2"] == 2 * 128 * 5 * 15
    assert 25e6 < counts["cyclegan_vc2"] < num_params(CycleGANVCGenerator())
    assert 5e6 < counts["patchgan"] < 20e6


def test_inconsistent_widths_name_the_option():
    with pytest.raises(ValueError, match="in_channels .*divisible"):
        CycleGANVC2Generator(in_channels=26)
    with pytest.raises(ValueError, match="upsample_channels"):
        CycleGANVC2Generator(upsample_channels=[1024])


def test_generator_without_mask_channel_refuses_a_mask():
    with pytest.raises(ValueError, match="mask_channel"):
        CycleGANVC2Generator(**G2)(torch.randn(1, 24, 16), torch.ones(1, 16))


# ----------------------------------------------------------------- gated units
@pytest.mark.parametrize("block", ["1d", "2d"])
def test_glu_gates_one_half_by_the_other(block):
    """out = a * sigmoid(b), a and b the two halves of the convolution's output;
    x * sigmoid(x) of one tensor (a known defect of public code) fails this."""
    torch.manual_seed(0)
    if block == "1d":
        layer = GatedConv1d(1, 1, 1, use_norm=False)
        x = torch.randn(1, 1, 10)
    else:
        layer = GatedConv2d(1, 1, (1, 1), use_norm=False)
        x = torch.randn(1, 1, 4, 10)
    with torch.no_grad():
        layer.conv.weight.copy_(torch.tensor([2.0, -3.0]).view(layer.conv.weight.shape))
        layer.conv.bias.copy_(torch.tensor([0.5, 1.0]))
    a, b = 2.0 * x + 0.5, -3.0 * x + 1.0
    out = layer(x)
    assert torch.allclose(out, a * torch.sigmoid(b), atol=1e-6)
    assert not torch.allclose(out, a * torch.sigmoid(a), atol=1e-3)


def test_pixel_shuffle_keeps_the_gate_apart_in_2d():
    """With a 2-D pixel shuffle the gate of each output channel comes from the
    second half of the convolution's channels."""
    layer = GatedConv2d(1, 2, (1, 1), upscale_factor=2, use_norm=False)
    with torch.no_grad():
        layer.conv.weight.zero_()
        layer.conv.bias.copy_(torch.cat([torch.ones(8), torch.full((8,), -50.0)]))  # gate closed
    assert layer(torch.randn(1, 1, 3, 5)).abs().max() < 1e-6


# ------------------------------------------------------------- two-step loss
class Recorder:
    """Records the inputs a network is called with."""

    def __init__(self, module):
        self.calls = []
        module.register_forward_pre_hook(lambda m, args: self.calls.append([a.detach().clone() for a in args]))


def test_two_step_loss_judges_the_cycled_features_in_both_turns():
    model = make_variant(two_step=True)
    b = batch(frames=32)
    d2x, d2y = Recorder(model.cyclegan.discriminator["src_cycle"]), Recorder(model.cyclegan.discriminator["trg_cycle"])
    out = model(forward_generator=True, **b)
    x, y = b["src_feats"].transpose(1, 2), b["trg_feats"].transpose(1, 2)
    with torch.no_grad():
        cycle_x = model.cyclegan.generator["trg_to_src"](model.cyclegan.generator["src_to_trg"](x))
        cycle_y = model.cyclegan.generator["src_to_trg"](model.cyclegan.generator["trg_to_src"](y))
    assert len(d2x.calls) == 1 and len(d2y.calls) == 1
    assert torch.allclose(d2x.calls[0][0], cycle_x, atol=1e-5)
    assert torch.allclose(d2y.calls[0][0], cycle_y, atol=1e-5)
    assert out["stats"]["generator_adv2_loss"] > 0
    # the generators learn from the second-step discriminators
    out["loss"].backward()
    assert model.cyclegan.generator["src_to_trg"].first.conv.weight.grad is not None
    # discriminator turn: real x and cycled x for D2_X (in one pass or two)
    out_d = model(forward_generator=False, **b)
    judged_x, judged_y = (torch.cat([call[0] for call in d.calls[1:]]) for d in (d2x, d2y))
    torch.testing.assert_close(judged_x, torch.cat([x, cycle_x]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(judged_y, torch.cat([y, cycle_y]), atol=1e-5, rtol=1e-5)
    assert out_d["stats"]["discriminator_adv2_loss"] > 0
    out_d["loss"].backward()
    assert model.cyclegan.discriminator["src_cycle"].first.conv.weight.grad.abs().sum() > 0


def test_one_step_model_has_no_cycle_discriminators():
    model = make_variant(two_step=False)
    assert set(model.cyclegan.discriminator) == {"src", "trg"}
    assert "generator_adv2_loss" not in model(forward_generator=True, **batch())["stats"]


def test_two_step_flag_and_discriminators_go_together():
    g = [CycleGANVC2Generator(**G2) for _ in range(2)]
    d = [PatchGANDiscriminator(**PD) for _ in range(2)]
    with pytest.raises(ValueError, match="two_step_adversarial"):
        build_model(*g, *d, two_step_adversarial=True)
    with pytest.raises(ValueError, match="two_step_adversarial"):
        build_model(*g, *d, discriminator_src_cycle=PatchGANDiscriminator(**PD),
                    discriminator_trg_cycle=PatchGANDiscriminator(**PD))


# -------------------------------------------------------- filling in frames
def test_fif_mask_is_one_run_of_at_most_max_frames():
    model = make_variant(fif=10).train()
    torch.manual_seed(1)
    lengths = []
    for _ in range(50):
        mask = model.cyclegan.fif_mask(torch.zeros(4, 24, 64))
        assert mask.shape == (4, 64) and set(mask.unique().tolist()) <= {0.0, 1.0}
        for row in mask:
            zeros = (row == 0).nonzero().flatten()
            lengths.append(len(zeros))
            if len(zeros):
                assert zeros[-1] - zeros[0] + 1 == len(zeros)  # contiguous
    assert max(lengths) <= 10 and min(lengths) == 0 and len(set(lengths)) > 5
    assert model.eval().cyclegan.fif_mask(torch.zeros(4, 24, 64)) is None


def test_fif_masks_only_the_input_of_each_forward_conversion():
    model = make_variant(fif=12, two_step=True, batched_passes=False).train()
    b = batch(frames=32)
    x, y = b["src_feats"].transpose(1, 2), b["trg_feats"].transpose(1, 2)
    g_xy, g_yx = Recorder(model.cyclegan.generator["src_to_trg"]), Recorder(model.cyclegan.generator["trg_to_src"])
    discriminators = {name: Recorder(d) for name, d in model.cyclegan.discriminator.items()}
    torch.manual_seed(5)
    model(forward_generator=True, **b)
    # G_X->Y: x with its mask, then the cycled pass of fake_x and the identity pass of y, unmasked
    (first_input, mask_x), cycled, identity = g_xy.calls
    assert torch.equal(first_input, x) and (mask_x == 0).any()
    assert len(cycled) == 1 and len(identity) == 1 and torch.equal(identity[0], y)
    (first_input, mask_y), cycled, identity = g_yx.calls
    assert torch.equal(first_input, y) and (mask_y == 0).any()
    assert len(cycled) == 1 and torch.equal(identity[0], x)
    # the masked input is x * mask: the generator's output depends on it
    with torch.no_grad():
        assert not torch.allclose(model.cyclegan.generator["src_to_trg"](x, mask_x), model.cyclegan.generator["src_to_trg"](x))
    # discriminator turn: the real features reach the discriminators unmasked
    model(forward_generator=False, **b)
    assert torch.equal(discriminators["trg"].calls[-2][0], y)
    assert torch.equal(discriminators["src"].calls[-2][0], x)


def test_batched_passes_mask_the_forward_conversion_s_half_only():
    model = make_variant(fif=12, two_step=True).train()
    b = batch(frames=32)
    x, y = b["src_feats"].transpose(1, 2), b["trg_feats"].transpose(1, 2)
    g_xy = Recorder(model.cyclegan.generator["src_to_trg"])
    discriminators = {name: Recorder(d) for name, d in model.cyclegan.discriminator.items()}
    torch.manual_seed(5)
    model(forward_generator=True, **b)
    # G_X->Y: x (masked) and y (identity, unmasked) in one pass, then the cycled pass
    (inputs, mask), cycled = g_xy.calls
    assert torch.equal(inputs, torch.cat([x, y])) and len(cycled) == 1
    mask_x, mask_y = mask.chunk(2)
    assert (mask_x == 0).any() and torch.equal(mask_y, torch.ones_like(mask_y))
    # discriminator turn: real and fake in one pass, the real half unmasked
    model(forward_generator=False, **b)
    real, _ = discriminators["trg"].calls[-1][0].chunk(2)
    assert torch.equal(real, y)


def test_conversion_and_validation_use_an_all_ones_mask():
    model = make_variant(fif=12).eval()
    feats = torch.randn(40, 24)
    g = model.cyclegan.generator["src_to_trg"]
    with torch.no_grad():
        expected = g(feats.T.unsqueeze(0), torch.ones(1, 40))[0].T
    assert torch.allclose(model.convert(feats), expected, atol=1e-6)
    rec = Recorder(g)
    model(forward_generator=True, **batch())
    assert all(len(call) == 1 for call in rec.calls)  # no mask passed in validation


def test_fif_needs_a_generator_that_reads_the_mask():
    g = [CycleGANVCGenerator(first_channels=8, downsample_channels=[8, 8], residual_hidden_channels=8,
                             num_residual_blocks=1, upsample_channels=[8, 8]) for _ in range(2)]
    d = [PatchGANDiscriminator(**PD) for _ in range(2)]
    with pytest.raises(ValueError, match="mask_channel: true"):
        build_model(*g, *d, fif_max_frames=8)
