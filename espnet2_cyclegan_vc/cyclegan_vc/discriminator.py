"""CycleGAN-VC discriminator: a 2-D gated CNN over the (MCEP x time) image."""

from typing import Sequence

import torch
from typeguard import typechecked

from espnet2_cyclegan_vc.layers.gated_conv import GatedConv2d


class CycleGANVCDiscriminator(torch.nn.Module):
    """Gated 2-D CNN that scores an MCEP segment as real (high) or converted.

    The paper ends with a fully connected layer over the whole flattened map,
    which fixes the segment length; here the same layer is applied at every
    remaining time step (over channels x frequency), giving (B, T') logits, so
    any number of frames is accepted and 128-frame inputs see the same weights
    per position.
    """

    @typechecked
    def __init__(
        self,
        in_channels: int = 24,
        first_channels: int = 128,
        first_kernel_size: Sequence[int] = (3, 3),
        first_stride: Sequence[int] = (1, 2),
        downsample_channels: Sequence[int] = (256, 512, 1024),
        downsample_kernel_sizes: Sequence[Sequence[int]] = ((3, 3), (3, 3), (6, 3)),
        downsample_strides: Sequence[Sequence[int]] = ((2, 2), (2, 2), (1, 2)),
    ):
        """Initialize CycleGANVCDiscriminator (defaults are the paper's widths).

        Args:
            in_channels: Feature dimension (MCEP order), the image height.
            first_channels: Width of the first gated convolution (no norm).
            first_kernel_size: (freq, time) kernel of the first convolution.
            first_stride: (freq, time) stride of the first convolution.
            downsample_channels: Width of each conv -> IN -> GLU block.
            downsample_kernel_sizes: (freq, time) kernel of each block.
            downsample_strides: (freq, time) stride of each block.
        """
        super().__init__()
        if not len(downsample_channels) == len(downsample_kernel_sizes) == len(downsample_strides):
            raise ValueError(
                "discriminator_conf: downsample_channels, downsample_kernel_sizes and "
                "downsample_strides must have the same length"
            )
        self.first = GatedConv2d(1, first_channels, first_kernel_size, first_stride, use_norm=False)
        blocks = []
        channels = first_channels
        height = -(-in_channels // first_stride[0])
        for out, kernel, stride in zip(
            downsample_channels, downsample_kernel_sizes, downsample_strides
        ):
            blocks.append(GatedConv2d(channels, out, kernel, stride))
            channels = out
            height = -(-height // stride[0])
        self.downsample = torch.nn.Sequential(*blocks)
        self.output = torch.nn.Linear(channels * height, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score features.

        Args:
            x: (B, in_channels, T) normalised MCEPs.

        Returns:
            Tensor: (B, T') logits (before the sigmoid), T' = ceil(T / 8) with
                the default strides.
        """
        x = self.first(x.unsqueeze(1))
        x = self.downsample(x)  # (B, C, H', T')
        batch, channels, height, frames = x.shape
        x = x.permute(0, 3, 1, 2).reshape(batch, frames, channels * height)
        return self.output(x).squeeze(-1)
