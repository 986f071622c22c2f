"""CycleGAN-VC2's 2-1-2D generator (Kaneko et al., ICASSP 2019), with the
optional mask channel of MaskCycleGAN-VC (Kaneko et al., ICASSP 2021).

The (MCEP x time) image is downsampled by 2-D gated convolutions, reshaped to
a 1-D sequence and transformed by 1-D gated residual blocks, then reshaped
back and upsampled by 2-D gated convolutions with pixel shuffle. Widths are
counted after the GLU (see layers.gated_conv); defaults are the paper's.
"""

from typing import Optional, Sequence

import torch
from typeguard import typechecked

from espnet2_cyclegan_vc.layers.gated_conv import GatedConv2d, ResidualBlock1d, pad_frames, same_padding


class CycleGANVC2Generator(torch.nn.Module):
    """2-1-2D gated CNN mapping one speaker's normalised MCEPs to another's.

    Input and output are (B, in_channels, T) for any T (padded to a multiple
    of the downsampling factor inside, cropped back). With ``mask_channel``
    (MaskCycleGAN-VC's filling in frames) the network reads two input planes,
    the features times a frame mask and the mask itself; ``forward`` without a
    mask uses an all-ones mask, which is what conversion does, so a converter
    calls every generator the same way.
    """

    accepts_mask: bool

    @typechecked
    def __init__(
        self,
        in_channels: int = 24,
        first_channels: int = 128,
        first_kernel_size: Sequence[int] = (5, 15),
        downsample_channels: Sequence[int] = (256, 256),
        downsample_kernel_size: Sequence[int] = (5, 5),
        bottleneck_channels: int = 256,
        residual_hidden_channels: int = 512,
        residual_kernel_size: int = 3,
        num_residual_blocks: int = 6,
        upsample_channels: Sequence[int] = (1024, 512),
        upsample_kernel_size: Sequence[int] = (5, 5),
        last_kernel_size: Sequence[int] = (5, 15),
        mask_channel: bool = False,
    ):
        """Initialize CycleGANVC2Generator (defaults are the paper's widths).

        Args:
            in_channels: Feature dimension (MCEP order incl. c0), the image
                height; must be divisible by 2 ** len(downsample_channels).
            first_channels: Width of the input 2-D gated convolution.
            first_kernel_size: (freq, time) kernel of the input convolution.
            downsample_channels: Width of each stride-(2, 2) gated block.
            downsample_kernel_size: (freq, time) kernel of those blocks.
            bottleneck_channels: Width of the 1-D part (after the 1x1 conversion).
            residual_hidden_channels: Gated width inside each 1-D residual block.
            residual_kernel_size: Kernel size inside the residual blocks.
            num_residual_blocks: Number of 1-D residual blocks.
            upsample_channels: Per-block width before the 2-D x2 pixel shuffle
                (the shuffle divides it by 4); as many blocks as downsampling.
            upsample_kernel_size: (freq, time) kernel of the upsampling blocks.
            last_kernel_size: (freq, time) kernel of the output convolution.
            mask_channel: Read a frame mask as a second input plane
                (MaskCycleGAN-VC); False is CycleGAN-VC2.
        """
        super().__init__()
        factor = 2 ** len(downsample_channels)
        if len(upsample_channels) != len(downsample_channels):
            raise ValueError(
                "generator_conf: upsample_channels must have as many entries as "
                f"downsample_channels ({list(upsample_channels)} vs {list(downsample_channels)})"
            )
        if in_channels % factor:
            raise ValueError(
                f"generator_conf: in_channels ({in_channels}) must be divisible by {factor} "
                f"(2 ** len(downsample_channels)) for the 2-D downsampling"
            )
        if any(width % 4 for width in upsample_channels):
            raise ValueError(f"generator_conf: upsample_channels {list(upsample_channels)} must be multiples of 4")
        self.in_channels = in_channels
        self.downsample_factor = factor
        self.accepts_mask = mask_channel
        self.first = GatedConv2d(2 if mask_channel else 1, first_channels, first_kernel_size, use_norm=False)
        blocks, channels = [], first_channels
        for out in downsample_channels:
            blocks.append(GatedConv2d(channels, out, downsample_kernel_size, stride=(2, 2)))
            channels = out
        self.downsample = torch.nn.Sequential(*blocks)
        flat = channels * (in_channels // factor)
        self.to_1d = torch.nn.Sequential(
            torch.nn.Conv1d(flat, bottleneck_channels, 1),
            torch.nn.InstanceNorm1d(bottleneck_channels, affine=True),
        )
        self.residual = torch.nn.Sequential(
            *[
                ResidualBlock1d(bottleneck_channels, residual_hidden_channels, residual_kernel_size)
                for _ in range(num_residual_blocks)
            ]
        )
        self.to_2d = torch.nn.Sequential(
            torch.nn.Conv1d(bottleneck_channels, flat, 1),
            torch.nn.InstanceNorm1d(flat, affine=True),
        )
        self.bottleneck_map_channels = channels
        blocks = []
        for width in upsample_channels:
            blocks.append(GatedConv2d(channels, width // 4, upsample_kernel_size, upscale_factor=2))
            channels = width // 4
        self.upsample = torch.nn.Sequential(*blocks)
        freq_pad, time_pad = same_padding(last_kernel_size[0]), same_padding(last_kernel_size[1])
        self.last = torch.nn.Sequential(
            torch.nn.ZeroPad2d((*time_pad, *freq_pad)),
            torch.nn.Conv2d(channels, 1, tuple(last_kernel_size)),
        )

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Convert features.

        Args:
            x: (B, in_channels, T) normalised MCEPs.
            mask: (B, T) frame mask, 1 = keep, 0 = masked (only with
                mask_channel). None: all ones.

        Returns:
            Tensor: (B, in_channels, T) converted MCEPs.
        """
        batch, dim, frames = x.shape
        image = x.unsqueeze(1)  # (B, 1, D, T)
        if self.accepts_mask:
            if mask is None:
                mask = x.new_ones(batch, frames)
            plane = mask.to(x.dtype).unsqueeze(1).unsqueeze(1).expand(batch, 1, dim, frames)
            image = torch.cat([image * plane, plane], dim=1)  # (B, 2, D, T)
        elif mask is not None:
            raise ValueError("this generator has no mask channel (generator_conf: mask_channel: false)")
        h = self.first(pad_frames(image, self.downsample_factor))
        h = self.downsample(h)  # (B, C, D / f, T' / f)
        b, c, height, steps = h.shape
        h = self.to_2d(self.residual(self.to_1d(h.reshape(b, c * height, steps))))
        h = self.upsample(h.reshape(b, c, height, steps))
        return self.last(h).squeeze(1)[:, :, :frames]
