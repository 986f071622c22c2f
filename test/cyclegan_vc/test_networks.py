"""Shapes and sizes of the CycleGAN-VC generator and discriminator."""

import pytest
import torch

from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator
from espnet2_cyclegan_vc.layers.gated_conv import PixelShuffle1d

SMALL_G = dict(first_channels=8, downsample_channels=[16, 32], residual_hidden_channels=64,
               num_residual_blocks=2, upsample_channels=[64, 32])
SMALL_D = dict(first_channels=8, downsample_channels=[16, 32, 64])


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def conv(cin, cout, k):
    return cin * cout * k + cout


def norm(c):
    return 2 * c  # affine instance norm: weight and bias


def test_generator_parameter_count_at_paper_widths():
    # Counted layer by layer from the paper's figure: every gated layer has a
    # linear and a gate branch, each as wide as the stated channel count.
    expected = conv(24, 2 * 128, 15)
    expected += conv(128, 2 * 256, 5) + norm(512) + conv(256, 2 * 512, 5) + norm(1024)
    expected += 6 * (conv(512, 2 * 1024, 3) + norm(2048) + conv(1024, 512, 3) + norm(512))
    # Upsampling: conv to 2 x 1024 (2 x 512) channels, then shuffle x2 halves them.
    expected += conv(512, 2 * 1024, 5) + norm(1024) + conv(512, 2 * 512, 5) + norm(512)
    expected += conv(256, 24, 15)
    generator = CycleGANVCGenerator()
    assert num_params(generator) == expected
    assert 37e6 < expected < 39e6  # "about 38 M" in the paper's setting


@pytest.mark.parametrize("frames", [1, 37, 128, 301])
def test_generator_accepts_any_length(frames):
    generator = CycleGANVCGenerator(**SMALL_G).eval()
    x = torch.randn(2, 24, frames)
    assert generator(x).shape == (2, 24, frames)


def test_generator_paper_widths_shape():
    generator = CycleGANVCGenerator()
    assert generator(torch.randn(1, 24, 128)).shape == (1, 24, 128)


def test_pixel_shuffle_interleaves():
    x = torch.arange(2 * 3, dtype=torch.float).view(1, 2, 3)  # channels [0 1 2], [3 4 5]
    y = PixelShuffle1d(2)(x)
    assert y.tolist() == [[[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]]]


@pytest.mark.parametrize("frames,expected", [(128, 8), (100, 7), (5, 1)])
def test_discriminator_output_per_time_step(frames, expected):
    discriminator = CycleGANVCDiscriminator(**SMALL_D)
    assert discriminator(torch.randn(3, 24, frames)).shape == (3, expected)


def test_discriminator_paper_widths():
    discriminator = CycleGANVCDiscriminator()
    out = discriminator(torch.randn(1, 24, 128))
    assert out.shape == (1, 8)
    # The fully connected layer sees 1024 channels x 6 frequency rows (24 / 4).
    assert discriminator.output.in_features == 1024 * 6


def test_mismatched_upsample_config_names_the_option():
    with pytest.raises(ValueError, match="upsample_channels"):
        CycleGANVCGenerator(downsample_channels=[16, 32], upsample_channels=[32])
