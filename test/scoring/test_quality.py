"""espnet2_cyclegan_vc.scoring.quality: reference transcripts, WORLD resynthesis, transcripts.tsv."""

import numpy as np
import pytest

from conftest import needs_vcc2016, vcc2016_root
from espnet2_cyclegan_vc.scoring import ScoringError
from espnet2_cyclegan_vc.scoring.quality import read_text, resynthesize, resynthesize_all, transcripts_tsv
from espnet2_cyclegan_vc.world import WorldConfig, load_wav

EVAL = vcc2016_root() / "evaluation_all"


def test_read_text(tmp_path):
    f = tmp_path / "text"
    f.write_text("MINIF_200001 Victor brought the  sandwich.\nMINIF_200002\n\n")
    assert read_text(f) == {"MINIF_200001": "Victor brought the  sandwich.", "MINIF_200002": ""}
    f.write_text("A one\nA two\n")
    with pytest.raises(ScoringError, match=r"text: line 2: utterance A is listed twice"):
        read_text(f)
    with pytest.raises(ScoringError, match="no such text file"):
        read_text(tmp_path / "missing")


def test_transcripts_tsv_keeps_one_line_per_file():
    text = transcripts_tsv([("200001", "reference", "", "ok", "One\ttwo\nthree"),
                            ("200001", "converted", "SF1_200001", "silent", "")])
    assert text.splitlines() == ["sentence\trole\tid\tstatus\ttext", "200001\treference\t\tok\tOne two three",
                                 "200001\tconverted\tSF1_200001\tsilent\t"]


@needs_vcc2016
def test_resynthesis_keeps_the_utterance(tmp_path):
    config = WorldConfig(f0_method="dio")
    src = str(EVAL / "SF1/200001.wav")
    wav, resynth = load_wav(src, config.fs), resynthesize(src, config)
    assert abs(len(resynth) - len(wav)) < config.fs * config.frame_period / 1000 * 2
    n = min(len(wav), len(resynth))
    level = 10 * np.log10(np.mean(resynth[:n] ** 2) / np.mean(wav[:n] ** 2))
    assert abs(level) < 3.0
    # A vocoded copy, not the file itself.
    assert not np.allclose(resynth[:n], wav[:n], atol=1e-3)
    # A source WORLD cannot analyse is left out, the others are written with their wav.scp.
    silent = tmp_path / "silent.wav"
    import soundfile
    soundfile.write(silent, np.zeros(16000), 16000)
    done = resynthesize_all({"200001": ("SF1_200001", src), "200002": ("SF1_200002", str(silent))},
                            tmp_path / "resynthesis", config, nj=1)
    assert list(done) == ["200001"]
    assert (tmp_path / "resynthesis/wav.scp").read_text() == f"SF1_200001 {done['200001'][1]}\n"
    assert load_wav(done["200001"][1], config.fs).shape == resynth.shape
