"""PatchGAN discriminator of CycleGAN-VC2 (Kaneko et al., ICASSP 2019)."""

from typing import Sequence

import torch
from typeguard import typechecked

from espnet2_cyclegan_vc.layers.gated_conv import same_padding, GatedConv2d


class PatchGANDiscriminator(torch.nn.Module):
    """Fully convolutional 2-D gated CNN: a map of real/converted logits, one
    per (frequency, time) patch, for any number of frames."""

    @typechecked
    def __init__(
        self,
        in_channels: int = 24,
        first_channels: int = 128,
        first_kernel_size: Sequence[int] = (3, 3),
        downsample_channels: Sequence[int] = (256, 512, 1024),
        downsample_kernel_size: Sequence[int] = (3, 3),
        last_kernel_size: Sequence[int] = (1, 3),
    ):
        """Initialize PatchGANDiscriminator (defaults are the paper's widths).

        Args:
            in_channels: Feature dimension (MCEP order), the image height.
            first_channels: Width of the first gated convolution (no norm).
            first_kernel_size: (freq, time) kernel of the first convolution.
            downsample_channels: Width of each stride-(2, 2) conv -> IN -> GLU block.
            downsample_kernel_size: (freq, time) kernel of those blocks.
            last_kernel_size: (freq, time) kernel of the output convolution
                to one channel.
        """
        super().__init__()
        self.first = GatedConv2d(1, first_channels, first_kernel_size, use_norm=False)
        blocks, channels = [], first_channels
        for out in downsample_channels:
            blocks.append(GatedConv2d(channels, out, downsample_kernel_size, stride=(2, 2)))
            channels = out
        self.downsample = torch.nn.Sequential(*blocks)
        freq_pad, time_pad = same_padding(last_kernel_size[0]), same_padding(last_kernel_size[1])
        self.last = torch.nn.Sequential(
            torch.nn.ZeroPad2d((*time_pad, *freq_pad)),
            torch.nn.Conv2d(channels, 1, tuple(last_kernel_size)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score features.

        Args:
            x: (B, in_channels, T) normalised MCEPs.

        Returns:
            Tensor: (B, H', T') patch logits (before the sigmoid), H' =
                ceil(in_channels / 8) and T' = ceil(T / 8) with the defaults.
        """
        return self.last(self.downsample(self.first(x.unsqueeze(1)))).squeeze(1)
