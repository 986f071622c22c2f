"""Pictures that let a person check the figures: envelopes of source, converted and target, and pause power."""

from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from espnet2_cyclegan_vc.fileio import atomic_output
from espnet2_cyclegan_vc.scoring.metrics import (
    ScoringFeatures,
    envelope_from_mel_cepstrum,
    extract_features,
    pause_power_change,
    speech_frames,
)
from espnet2_cyclegan_vc.world import WorldConfig


def plot_comparison(
    source_wav: Union[str, ScoringFeatures],
    converted_wav: Union[str, ScoringFeatures],
    target_wav: Union[str, ScoringFeatures],
    out_png: Union[str, Path],
    config: WorldConfig,
    title: str = "",
    labels: Optional[Sequence[str]] = None,
) -> None:
    """Write a PNG with the log spectral envelopes of source, converted and target.

    The envelope is decoded from the mel-cepstrum the MCD is computed on,
    shown in dB on one colour scale and one time axis so the three panels
    compare directly. A fourth panel draws the frame power of
    the source and the converted speech with the source's pauses shaded, so
    pauses turned into noise show at a glance. The file is written atomically.

    Args:
        source_wav, converted_wav, target_wav: wav paths, or features already
            extracted with :func:`extract_features`.
        out_png: output PNG path.
        config: WORLD settings.
        title: figure title.
        labels: three panel titles; by default the role and the file name.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless: recipes run without a display
    import matplotlib.pyplot as plt

    items = (("source", source_wav), ("converted", converted_wav), ("target", target_wav))
    if labels is not None and len(labels) != 3:
        raise ValueError(f"plot_comparison needs 3 labels, got {len(labels)}")
    panels, powers = [], []
    for k, (role, item) in enumerate(items):
        feats = item if isinstance(item, ScoringFeatures) else extract_features(str(item), config)
        powers.append(feats.power_db)
        sp = envelope_from_mel_cepstrum(feats.mcep, config)
        if labels is not None:
            name = labels[k]
        elif isinstance(item, (str, Path)):
            name = f"{role}: {Path(item).name}"
        else:
            name = role
        panels.append((name, 10.0 * np.log10(np.maximum(sp, 1e-20))))
    # A shared colour range over the top 80 dB keeps silence from washing out speech.
    vmax = max(float(p.max()) for _, p in panels)
    vmin = vmax - 80.0
    tmax = max(p.shape[0] for _, p in panels) * config.frame_period / 1000.0
    fig, axes = plt.subplots(
        4, 1, figsize=(10, 11), sharex=True, constrained_layout=True,
        gridspec_kw=dict(height_ratios=[3, 3, 3, 2]),
    )
    for ax, (name, spec_db) in zip(axes, panels):
        dur = spec_db.shape[0] * config.frame_period / 1000.0
        im = ax.imshow(
            spec_db.T, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax,
            extent=(0.0, dur, 0.0, config.fs / 2.0),
        )
        ax.set_title(name)
        ax.set_ylabel("Frequency [Hz]")
        ax.set_xlim(0.0, tmax)
    _plot_pause_power(axes[3], powers[0], powers[1], config)
    axes[3].set_xlim(0.0, tmax)
    axes[-1].set_xlabel("Time [s]")
    fig.colorbar(im, ax=list(axes[:3]), label="Log spectral envelope [dB]")
    fig.suptitle(title or "Spectral envelope (from the scored mel-cepstrum)")
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def _plot_pause_power(ax, source_db: np.ndarray, converted_db: np.ndarray, config: WorldConfig) -> None:
    """Frame power of source and converted speech, the source's pauses shaded."""
    step = config.frame_period / 1000.0
    pauses = ~speech_frames(source_db)
    # Shade each run of pause frames.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], pauses.astype(np.int8), [0]])))
    for begin, end in zip(edges[::2], edges[1::2]):
        ax.axvspan(begin * step, end * step, color="0.85", lw=0)
    ax.plot(np.arange(len(source_db)) * step, source_db, lw=1, label="source")
    ax.plot(np.arange(len(converted_db)) * step, converted_db, lw=1, label="converted")
    change = pause_power_change(source_db, converted_db)
    ax.set_title(
        "Frame power; shaded: source pauses"
        + ("" if change is None else f" (pause power change, relative to each one's speech: {change:+.1f} dB)")
    )
    ax.set_ylabel("Power [dB]")
    ax.legend(loc="lower right", fontsize=8)
