"""CycleGAN-VC generator: a 1-D gated CNN over time (Kaneko & Kameoka, 2017).

Every "channels" argument below is the width after the gated linear unit
(GLU) halves a convolution's output, which is how the paper's figure counts
them; with the paper's widths the generator has about 38 M parameters.
"""

from typing import Sequence

import torch
import torch.nn.functional as F
from typeguard import typechecked


class PixelShuffle1d(torch.nn.Module):
    """Sub-pixel upsampling over time: (B, C * r, T) -> (B, C, T * r).

    Output frame t * r + i takes channel c * r + i of input frame t, i.e. the r
    channels of a group are interleaved in time (not merely reshaped).
    """

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, frames = x.shape
        r = self.upscale_factor
        x = x.view(batch, channels // r, r, frames)
        return x.permute(0, 1, 3, 2).reshape(batch, channels // r, frames * r)


class GatedConv1d(torch.nn.Module):
    """Conv1d -> [pixel shuffle] -> [instance norm] -> GLU.

    The convolution produces the linear and gate halves in one call; the GLU
    multiplies the first half by the sigmoid of the second.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        stride: int = 1,
        upscale_factor: int = 1,
        use_norm: bool = True,
    ):
        super().__init__()
        conv_out = 2 * channels * upscale_factor
        self.conv = torch.nn.Conv1d(
            in_channels, conv_out, kernel_size, stride=stride, padding=kernel_size // 2
        )
        self.shuffle = PixelShuffle1d(upscale_factor) if upscale_factor > 1 else None
        self.norm = torch.nn.InstanceNorm1d(2 * channels, affine=True) if use_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.shuffle is not None:
            # Shuffle groups consecutive channels, so the linear and gate halves
            # stay apart: channels [0, C) and [C, 2C) after shuffling.
            x = self.shuffle(x)
        if self.norm is not None:
            x = self.norm(x)
        return F.glu(x, dim=1)


class ResidualBlock1d(torch.nn.Module):
    """x + IN(Conv(GLU(IN(Conv(x))))), keeping the block's input width."""

    def __init__(self, channels: int, hidden_channels: int, kernel_size: int):
        super().__init__()
        self.gated = GatedConv1d(channels, hidden_channels, kernel_size)
        self.conv = torch.nn.Conv1d(
            hidden_channels, channels, kernel_size, padding=kernel_size // 2
        )
        self.norm = torch.nn.InstanceNorm1d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.conv(self.gated(x)))


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
        # Pad to a multiple of the downsampling factor, and to at least two
        # bottleneck frames so instance norm has statistics to compute.
        padded = max(frames + (-frames) % self.downsample_factor, 2 * self.downsample_factor)
        if padded > frames:
            # Replicate the edge so instance norm and the convolutions see
            # speech-like values rather than a block of zeros.
            x = F.pad(x, (0, padded - frames), mode="replicate")
        x = self.first(x)
        x = self.downsample(x)
        x = self.residual(x)
        x = self.upsample(x)
        x = self.last(x)
        return x[:, :, :frames]
