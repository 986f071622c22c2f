"""CycleGAN-VC generator: a 1-D gated CNN over time (Kaneko & Kameoka, 2017).

Every "channels" argument below is the width after the gated linear unit
(GLU) halves a convolution's output, which is how the paper's figure counts
them; with the paper's widths the generator has about 38 M parameters.
"""

from typing import Sequence

import torch
from typeguard import typechecked

from espnet2_cyclegan_vc.layers.gated_conv import GatedConv1d, ResidualBlock1d, pad_frames


class CycleGANVCGenerator(torch.nn.Module):
    """Gated 1-D CNN mapping one speaker's normalised MCEPs to another's.

    Input and output are (B, in_channels, T) for any T: the input is padded to
    a multiple of the total downsampling factor and the output cropped back.
    """

    @typechecked
    def __init__(
        self,
        in_channels: int = 24,
        first_channels: int = 128,
        first_kernel_size: int = 15,
        downsample_channels: Sequence[int] = (256, 512),
        downsample_kernel_size: int = 5,
        residual_hidden_channels: int = 1024,
        residual_kernel_size: int = 3,
        num_residual_blocks: int = 6,
        upsample_channels: Sequence[int] = (1024, 512),
        upsample_kernel_size: int = 5,
        last_kernel_size: int = 15,
    ):
        """Initialize CycleGANVCGenerator (defaults are the paper's widths).

        Args:
            in_channels: Feature dimension (MCEP order incl. c0).
            first_channels: Width of the input gated convolution.
            first_kernel_size: Kernel size of the input convolution.
            downsample_channels: Width of each stride-2 gated block.
            downsample_kernel_size: Kernel size of the downsampling blocks.
            residual_hidden_channels: Gated width inside each residual block.
            residual_kernel_size: Kernel size inside residual blocks.
            num_residual_blocks: Number of residual blocks.
            upsample_channels: Per-block width before the x2 pixel shuffle
                (the block outputs half of it); as many blocks as downsampling.
            upsample_kernel_size: Kernel size of the upsampling blocks.
            last_kernel_size: Kernel size of the output convolution.
        """
        super().__init__()
        if len(upsample_channels) != len(downsample_channels):
            raise ValueError(
                "generator_conf: upsample_channels must have as many entries as "
                f"downsample_channels ({list(upsample_channels)} vs {list(downsample_channels)})"
            )
        self.in_channels = in_channels
        self.downsample_factor = 2 ** len(downsample_channels)
        self.first = GatedConv1d(in_channels, first_channels, first_kernel_size, use_norm=False)
        blocks = []
        channels = first_channels
        for out in downsample_channels:
            blocks.append(GatedConv1d(channels, out, downsample_kernel_size, stride=2))
            channels = out
        self.downsample = torch.nn.Sequential(*blocks)
        self.residual = torch.nn.Sequential(
            *[
                ResidualBlock1d(channels, residual_hidden_channels, residual_kernel_size)
                for _ in range(num_residual_blocks)
            ]
        )
        blocks = []
        for width in upsample_channels:
            blocks.append(
                GatedConv1d(channels, width // 2, upsample_kernel_size, upscale_factor=2)
            )
            channels = width // 2
        self.upsample = torch.nn.Sequential(*blocks)
        self.last = torch.nn.Conv1d(
            channels, in_channels, last_kernel_size, padding=last_kernel_size // 2
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convert features.

        Args:
            x: (B, in_channels, T) normalised MCEPs.

        Returns:
            Tensor: (B, in_channels, T) converted MCEPs.
        """
        frames = x.size(2)
        x = pad_frames(x, self.downsample_factor)
        x = self.first(x)
        x = self.downsample(x)
        x = self.residual(x)
        x = self.upsample(x)
        x = self.last(x)
        return x[:, :, :frames]
