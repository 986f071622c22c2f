"""espnet2_cyclegan_vc.layers.gated_conv: what the blocks compute, checked against hand computations."""

import torch
import torch.nn.functional as F

from espnet2_cyclegan_vc.layers.gated_conv import GatedConv1d, GatedConv2d, ResidualBlock1d


def randomise_affine(module: torch.nn.Module, seed: int = 0) -> None:
    """Give every instance norm a non-trivial scale and shift (they start at 1 and 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (torch.nn.InstanceNorm1d, torch.nn.InstanceNorm2d)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g))


def instance_norm(x, norm):
    return F.instance_norm(x, weight=norm.weight, bias=norm.bias, eps=norm.eps)


def test_residual_block_whose_branch_outputs_zero_passes_its_input_through():
    torch.manual_seed(0)
    block = ResidualBlock1d(channels=6, hidden_channels=10, kernel_size=3)
    with torch.no_grad():
        block.norm.weight.zero_()
        block.norm.bias.zero_()
    x = torch.randn(2, 6, 17)
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)


def test_residual_block_adds_the_normalised_branch():
    torch.manual_seed(1)
    block = ResidualBlock1d(channels=6, hidden_channels=10, kernel_size=3)
    randomise_affine(block)
    x = torch.randn(2, 6, 17)
    hidden = F.glu(instance_norm(block.gated.conv(x), block.gated.norm), dim=1)
    expected = x + instance_norm(block.conv(hidden), block.norm)
    torch.testing.assert_close(block(x), expected)
    # The branch is instance-normalised: per channel its mean over time is the
    # norm's shift and its std the norm's scale, whatever the input's scale.
    branch = block(10 * x) - 10 * x
    torch.testing.assert_close(branch.mean(-1), block.norm.bias.expand(2, -1), atol=1e-4, rtol=0)
    torch.testing.assert_close(branch.std(-1, unbiased=False), block.norm.weight.abs().expand(2, -1),
                               atol=1e-3, rtol=1e-3)


def test_gated_conv1d_is_conv_instance_norm_glu():
    torch.manual_seed(2)
    block = GatedConv1d(5, 4, 3)
    randomise_affine(block)
    x = torch.randn(3, 5, 12)
    torch.testing.assert_close(block(x), F.glu(instance_norm(block.conv(x), block.norm), dim=1))
    plain = GatedConv1d(5, 4, 3, use_norm=False)
    torch.testing.assert_close(plain(x), F.glu(plain.conv(x), dim=1))


def test_gated_conv2d_is_conv_instance_norm_glu():
    torch.manual_seed(3)
    block = GatedConv2d(2, 4, (3, 5))
    randomise_affine(block)
    x = torch.randn(2, 2, 8, 10)
    expected = F.glu(instance_norm(block.conv(F.pad(x, block.padding)), block.norm), dim=1)
    torch.testing.assert_close(block(x), expected)


def test_strided_and_upscaling_blocks_change_the_frame_rate():
    x = torch.randn(1, 4, 16)
    assert GatedConv1d(4, 6, 5, stride=2)(x).shape == (1, 6, 8)
    assert GatedConv1d(4, 6, 5, upscale_factor=2)(x).shape == (1, 6, 32)
    assert GatedConv2d(1, 3, (5, 5), stride=(2, 2))(torch.randn(1, 1, 8, 16)).shape == (1, 3, 4, 8)
