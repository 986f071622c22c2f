"""espnet2_cyclegan_vc.scoring.speaker: speaker similarity against Resemblyzer called directly."""

import numpy as np
import pytest

from conftest import needs, vcc2016_root
from espnet2_cyclegan_vc.scoring import ScoringError
from espnet2_cyclegan_vc.scoring.speaker import (
    SkippedUtterance,
    SpeakerCentroid,
    SpeakerEncoder,
    cosine,
    similarity_to,
    speaker_centroid,
    summarize_similarity,
)

VCC = vcc2016_root()
needs_vcc = needs(VCC / "vcc2016_training", "VCC2016 corpus")


def train_files(spk, ids=range(100001, 100007)):
    return [(f"{spk}_{i}", str(VCC / "vcc2016_training" / spk / f"{i}.wav")) for i in ids]


def eval_files(spk, ids=range(200001, 200005)):
    return [(f"{spk}_{i}", str(VCC / "evaluation_all" / spk / f"{i}.wav")) for i in ids]


@pytest.fixture(scope="module")
def encoder():
    return SpeakerEncoder()


def test_summary_of_cosines_and_skips():
    pairs = [(0.8, 0.6), (0.5, 0.7), None, (0.9, 0.2)]
    s = summarize_similarity(pairs)
    assert s["to_target"] == pytest.approx((0.8 + 0.5 + 0.9) / 3)
    assert s["to_source"] == pytest.approx((0.6 + 0.7 + 0.2) / 3)
    assert s["closer_to_target"] == pytest.approx(2 / 3)
    assert (s["count"], s["skipped"]) == (3, 1)
    assert summarize_similarity([None, None]) == dict(
        to_target=None, to_source=None, closer_to_target=None, count=0, skipped=2
    )


def test_silent_and_too_short_utterances_are_skipped_with_their_name(encoder):
    with pytest.raises(SkippedUtterance, match="silent.wav: silent"):
        encoder.embed(np.zeros(32000), name="silent.wav")
    tone = 0.3 * np.sin(2 * np.pi * 150 * np.arange(1600) / 16000)  # 0.1 s
    with pytest.raises(SkippedUtterance, match="short.wav: .* under the 0.5 s"):
        encoder.embed(tone, name="short.wav")


def test_a_centroid_file_round_trips_and_a_bad_one_is_named(tmp_path):
    c = SpeakerCentroid(np.array([0.6, 0.8]), 3, ["u2"])
    c.save(tmp_path / "c.npz")
    back = SpeakerCentroid.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(back.vector, c.vector)
    assert (back.num_utts, back.skipped) == (3, ["u2"])
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ScoringError, match="bad.npz: not a speaker centroid"):
        SpeakerCentroid.load(tmp_path / "bad.npz")


@needs_vcc
def test_similarity_matches_resemblyzer_called_directly(encoder):
    from resemblyzer import VoiceEncoder, preprocess_wav

    direct = VoiceEncoder("cpu", verbose=False)
    target = speaker_centroid(encoder, train_files("TM3"), "TM3")
    source = speaker_centroid(encoder, train_files("SF1"), "SF1")
    # Resemblyzer's own speaker embedding: the normalised mean of its utterance embeddings.
    direct_target = direct.embed_speaker([preprocess_wav(p) for _, p in train_files("TM3")])
    direct_source = direct.embed_speaker([preprocess_wav(p) for _, p in train_files("SF1")])
    assert cosine(target.vector, direct_target) > 0.9999
    assert cosine(source.vector, direct_source) > 0.9999

    embeddings, skipped = encoder.embed_files(eval_files("TM3") + eval_files("SF1"))
    assert skipped == []
    sims = similarity_to(embeddings, target, source)
    for utt, path in eval_files("TM3") + eval_files("SF1"):
        e = direct.embed_utterance(preprocess_wav(path))
        assert sims[utt] == pytest.approx((cosine(e, direct_target), cosine(e, direct_source)), abs=1e-4)

    # Each speaker's own sentences sit nearer its centroid: 1.0 of the target's
    # sentences are closer to the target, none of the source's.
    ceiling = summarize_similarity([sims[u] for u, _ in eval_files("TM3")])
    baseline = summarize_similarity([sims[u] for u, _ in eval_files("SF1")])
    assert ceiling["closer_to_target"] == 1.0 and baseline["closer_to_target"] == 0.0
    assert ceiling["to_target"] > 0.75 > baseline["to_target"]
    # Swapped speakers turn it round: the same figures, now wrong, must not pass.
    swapped = summarize_similarity(list(similarity_to(
        {u: embeddings[u] for u, _ in eval_files("TM3")}, source, target).values()))
    assert swapped["closer_to_target"] == 0.0


def test_a_missing_encoder_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_resemblyzer(name, *args, **kwargs):
        if name == "resemblyzer" or name.startswith("resemblyzer."):
            raise ModuleNotFoundError("No module named 'resemblyzer'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_resemblyzer)
    with pytest.raises(ScoringError, match=r"pip install 'resemblyzer==0.1.4'.*--speaker_similarity false"):
        SpeakerEncoder()
