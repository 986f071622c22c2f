"""Gated convolution blocks shared by the CycleGAN-VC family's networks.

Every block ends in a gated linear unit (GLU): its convolution produces twice
the block's width, and the first half is multiplied by the sigmoid of the
second half. Widths below are counted after the GLU, as the papers' figures
count them.
"""

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F


def same_padding(kernel: int) -> Tuple[int, int]:
    """(before, after) padding that keeps a stride-1 axis its length."""
    total = kernel - 1
    return total // 2, total - total // 2


def pad_frames(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Pad the last (time) axis to a multiple of a network's downsampling
    factor, and to at least two bottleneck frames so instance norm has
    statistics to compute. The edge frame is replicated so instance norm and
    the convolutions see speech-like values rather than a block of zeros."""
    frames = x.size(-1)
    padded = max(frames + (-frames) % factor, 2 * factor)
    if padded == frames:
        return x
    # replicate padding of the last axis alone takes 2-D or 3-D input
    shape = x.shape
    x = F.pad(x.reshape(-1, 1, frames), (0, padded - frames), mode="replicate")
    return x.reshape(*shape[:-1], padded)


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


class GatedConv2d(torch.nn.Module):
    """Conv2d -> [pixel shuffle] -> [instance norm] -> GLU over (freq, time) maps.

    Padding is TensorFlow's "same" (a stride-s axis of length n becomes
    ceil(n / s)). With upscale_factor r, a 2-D pixel shuffle multiplies both
    axes by r; it groups r * r consecutive channels, so the linear and gate
    halves stay apart as in GatedConv1d.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: Sequence[int],
        stride: Sequence[int] = (1, 1),
        upscale_factor: int = 1,
        use_norm: bool = True,
    ):
        super().__init__()
        freq_pad = same_padding(kernel_size[0])
        time_pad = same_padding(kernel_size[1])
        # F.pad order is (time_before, time_after, freq_before, freq_after).
        self.padding = (*time_pad, *freq_pad)
        self.conv = torch.nn.Conv2d(
            in_channels, 2 * channels * upscale_factor**2, tuple(kernel_size), stride=tuple(stride)
        )
        self.shuffle = torch.nn.PixelShuffle(upscale_factor) if upscale_factor > 1 else None
        self.norm = torch.nn.InstanceNorm2d(2 * channels, affine=True) if use_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.pad(x, self.padding))
        if self.shuffle is not None:
            x = self.shuffle(x)
        if self.norm is not None:
            x = self.norm(x)
        return F.glu(x, dim=1)
