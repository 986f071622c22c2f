"""Objective scoring of converted speech: MCD, log-F0 RMSE and F0 correlation.

Published MCD values differ by toolkit, so every setting used here is fixed and
stated (and copied into the recipe's ``summary.json`` by :func:`settings_dict`):

Features
    Every waveform (reference and converted alike) goes through
    :func:`espnet2_cyclegan_vc.world.load_wav` and
    :func:`espnet2_cyclegan_vc.world.analyze` with the same
    :class:`~espnet2_cyclegan_vc.world.WorldConfig` as training and inference:
    resampled to ``fs``, F0 by ``f0_method`` (harvest by default, 71-800 Hz),
    CheapTrick spectral envelope at ``fft_size``, ``frame_period`` ms frames.
    Mel-cepstra are WORLD's own coding, ``pyworld.code_spectral_envelope`` at
    ``mcep_dim`` coefficients (24 including c0 by default). There is no SPTK
    mcep and no all-pass constant alpha to choose: WORLD's coding fixes its own
    mel warping.

Alignment
    One DTW path per pair, computed on c1..c_{mcep_dim-1} (c0, the frame
    energy, is left out so loudness differences do not steer the alignment),
    Euclidean frame distance, unweighted steps (i-1, j), (i, j-1),
    (i-1, j-1), from the first to the last frame of both sequences (no
    trimming of silence, no slope constraint or band). The same path is reused
    for F0.

MCD
    ``10 / ln(10) * sqrt(2 * sum_{d=1}^{D-1} (c_d - c'_d)^2)`` dB per aligned
    frame pair, c0 excluded (23 coefficients at the default mcep_dim 24),
    averaged over all pairs of the path (all frames, voiced or not; a frame
    that the path repeats counts once per repetition).

Speech-frame MCD
    The same per-pair MCD averaged only over the path pairs whose reference
    frame is speech: its power (sum of the WORLD spectral envelope decoded
    from the mel-cepstrum, in dB) is at most ``SPEECH_THRESHOLD_DB`` (40 dB)
    below the loudest frame of that reference utterance. Pauses, leading and
    trailing silence are left out. It is a second figure, reported beside the
    all-frames MCD, never instead of it.

F0
    log-F0 RMSE: root mean square of ``ln f0_ref - ln f0_conv`` (natural log
    of Hz; multiply by 1200 / ln 2 for cents) over the path pairs whose frames
    are voiced (F0 > 0) in both. F0 correlation: Pearson correlation of
    ln F0 over the same pairs (log F0 so that it is unchanged by the
    log-Gaussian F0 transform, which is linear in log F0). Both are None when
    no pair is voiced in both (correlation also when fewer than two pairs or a
    constant contour), never NaN.

Modules: :mod:`.metrics` (alignment and per-utterance scores),
:mod:`.matching` (which converted, source and target files belong together),
:mod:`.directory` (a whole directory, in parallel, and its summary),
:mod:`.plots` (pictures for a person to check the figures),
:mod:`.speaker` (speaker similarity), :mod:`.intelligibility` (CER / WER from a
speech recogniser), :mod:`.naturalness` (predicted MOS) and :mod:`.quality`
(both for the converted speech beside its floors and ceilings).
"""

from espnet2_cyclegan_vc.scoring.directory import DirectoryScores, extract_all, score_directory, summarize
from espnet2_cyclegan_vc.scoring.matching import MatchedSet, ScoringError, match_scps, read_wav_scp, sentence_ids
from espnet2_cyclegan_vc.scoring.metrics import (
    METRICS,
    SPEECH_THRESHOLD_DB,
    F0Scores,
    ScoringFeatures,
    dtw_path,
    extract_features,
    frame_power_db,
    logf0_rmse,
    mel_cepstral_distortion,
    pause_power_change,
    score_features,
    score_pair,
    scoring_features,
    settings_dict,
    speech_frames,
)
from espnet2_cyclegan_vc.scoring.plots import plot_comparison

__all__ = [
    "METRICS", "SPEECH_THRESHOLD_DB", "DirectoryScores", "F0Scores", "MatchedSet", "ScoringError",
    "ScoringFeatures", "dtw_path", "extract_all", "extract_features", "frame_power_db", "logf0_rmse",
    "match_scps", "mel_cepstral_distortion", "pause_power_change", "plot_comparison", "read_wav_scp",
    "score_directory", "score_features", "score_pair", "scoring_features", "sentence_ids",
    "settings_dict", "speech_frames", "summarize",
]
