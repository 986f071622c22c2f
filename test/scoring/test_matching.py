"""espnet2_cyclegan_vc.scoring.matching: which converted, source and target files are one sentence."""

import pytest

from espnet2_cyclegan_vc.scoring import ScoringError, match_scps, read_wav_scp


def write(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_sentences_in_all_three_are_matched_and_the_rest_reported(tmp_path):
    conv = write(tmp_path / "conv.scp", ["SF1_200001 /c/1.wav", "SF1_200002 /c/2.wav", "SF1_200009 /c/9.wav"])
    src = write(tmp_path / "src.scp", ["SF1_200001 /s/1.wav", "SF1_200002 /s/2.wav", "SF1_200003 /s/3.wav"])
    trg = write(tmp_path / "trg.scp", ["TM3_200002 /t/2.wav", "TM3_200001 /t/1.wav"])
    matched = match_scps(conv, src, trg, "SF1", "TM3")
    assert matched.sentences == ["200001", "200002"]
    # Each role keeps its own utterance id and file: a mix-up of roles fails here.
    assert matched.converted["200002"] == ("SF1_200002", "/c/2.wav")
    assert matched.source["200002"] == ("SF1_200002", "/s/2.wav")
    assert matched.target["200002"] == ("TM3_200002", "/t/2.wav")
    assert matched.unmatched == {"converted": ["SF1_200009"], "source": ["SF1_200003"], "target": []}


def test_no_common_sentence_names_the_three_files(tmp_path):
    conv = write(tmp_path / "conv.scp", ["SF1_200001 /c/1.wav"])
    trg = write(tmp_path / "trg.scp", ["TM3_200002 /t/2.wav"])
    with pytest.raises(ScoringError, match="no sentence id is in all of") as e:
        match_scps(conv, conv, trg, "SF1", "TM3")
    assert str(conv) in str(e.value) and str(trg) in str(e.value)


@pytest.mark.parametrize("lines, message", [
    (["SF1_1 sox a.wav -t wav - |"], r"SF1_1: piped entries are not supported"),
    (["SF1_1 /a.wav", "SF1_1 /b.wav"], r"wav.scp:2: duplicate key SF1_1"),
    (["SF1_1"], r"wav.scp:1: expected '<key> <value>'"),
])
def test_a_bad_wav_scp_is_a_scoring_error_naming_the_file(tmp_path, lines, message):
    scp = write(tmp_path / "wav.scp", lines)
    with pytest.raises(ScoringError, match=message) as e:
        read_wav_scp(scp)
    assert str(scp) in str(e.value)


def test_two_ids_of_one_sentence_are_refused(tmp_path):
    # "SF1_200001" and the bare "200001" are the same sentence of speaker SF1.
    scp = write(tmp_path / "src.scp", ["SF1_200001 /s/a.wav", "200001 /s/b.wav"])
    with pytest.raises(ScoringError, match="are the same sentence 200001"):
        match_scps(scp, scp, scp, "SF1", "TM3")
