"""What the result tables and the samples page show of a scoring summary.json."""

ROWS = (
    ("mcd", "MCD [dB], all frames"),
    ("mcd_speech", "MCD [dB], speech frames"),
    ("logf0_rmse", "log-F0 RMSE [ln Hz]"),
    ("f0corr", "F0 corr"),
)
# summary.json speaker_similarity keys: converted, baseline and ceiling of each.
SIMILARITY_ROWS = (
    ("to_target", "speaker similarity to the target [cos]"),
    ("to_source", "speaker similarity to the source [cos]"),
    ("closer_to_target", "closer to the target than to the source [share]"),
)


def similarity_value(similarity: dict, role: str, key: str) -> str:
    """One speaker-similarity cell: summary["speaker_similarity"][role][key], 3 decimals."""
    value = similarity[role][key]
    return "n/a" if value is None else f"{value:.3f}"
