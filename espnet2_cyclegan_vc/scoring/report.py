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


# summary.json intelligibility / naturalness: (block, key, title, digits) of
# each row, with a cell per role (converted, baseline, resynthesis, target).
QUALITY_ROWS = (
    ("intelligibility", "cer", "CER [%]", 1),
    ("intelligibility", "wer", "WER [%]", 1),
    ("naturalness", "mean", "predicted MOS (DistillMOS)", 2),
)
QUALITY_ROLES = ("converted", "baseline", "resynthesis", "target")
QUALITY_ROLE_TITLES = ("converted", "baseline (source)", "WORLD resynthesis (vocoder limit)",
                       "target (natural)")


def quality_value(summary: dict, block: str, role: str, key: str, digits: int) -> str:
    """One intelligibility / naturalness cell of summary.json, or n/a."""
    scores = summary.get(block)
    value = None if not scores else scores["roles"][role][key]
    return "n/a" if value is None else f"{value:.{digits}f}"


def quality_reference(summary: dict) -> str:
    """Which reference the error rates of a summary used (short form for tables)."""
    scores = summary.get("intelligibility")
    if not scores:
        return "n/a"
    return "corpus text" if scores["reference"].startswith("text") else "ASR of the source"
