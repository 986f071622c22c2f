"""Data preparation on a tiny copy of the VCC2016 layout."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile

from espnet2_cyclegan_vc.bin.prepare_vcc2016_data import id_range, prepare

SPEAKERS = ["SF1", "SM1", "TF2", "TM3"]


@pytest.fixture
def corpus(tmp_path):
    db = tmp_path / "vcc2016"
    wav = (0.1 * np.sin(np.arange(1600) / 5)).astype(np.float32)
    for spk in SPEAKERS:
        for i in range(100001, 100013):
            (db / "vcc2016_training" / spk).mkdir(parents=True, exist_ok=True)
            soundfile.write(db / "vcc2016_training" / spk / f"{i}.wav", wav, 16000)
        for i in range(200001, 200005):
            (db / "evaluation_all" / spk).mkdir(parents=True, exist_ok=True)
            soundfile.write(db / "evaluation_all" / spk / f"{i}.wav", wav, 16000)
        # Some public copies carry a stray training file in evaluation_all/.
        soundfile.write(db / "evaluation_all" / spk / "100160.wav", wav, 16000)
    return db


def read(path):
    return [line.split() for line in path.read_text().splitlines()]


def run_prepare(db, out, **kw):
    args = dict(db=db, srcspk="SF1", trgspk="TM3", outdir=out, src_train_ids=id_range("100001-100006"),
                trg_train_ids=id_range("100007-100012"), eval_ids=id_range("200001-200004"),
                num_dev=2, speakers=SPEAKERS)
    args.update(kw)
    prepare(**args)


def test_non_parallel_split_and_parallel_evaluation(corpus, tmp_path):
    out = tmp_path / "data"
    run_prepare(corpus, out)
    train_src = [u for u, _ in read(out / "train_SF1/wav.scp")]
    train_trg = [u for u, _ in read(out / "train_TM3/wav.scp")]
    assert len(train_src) == len(train_trg) == 6
    sentence = lambda utt: utt.split("_", 1)[1]
    assert not {sentence(u) for u in train_src} & {sentence(u) for u in train_trg}
    eval_src = [sentence(u) for u, _ in read(out / "eval_SF1/wav.scp")]
    assert eval_src == [sentence(u) for u, _ in read(out / "eval_TM3/wav.scp")]
    assert eval_src == ["200001", "200002", "200003", "200004"]  # no stray 100160
    # dev: the speaker's utterances of the other speaker's training sentences.
    assert [u for u, _ in read(out / "dev_SF1/wav.scp")] == ["SF1_100011", "SF1_100012"]
    assert [u for u, _ in read(out / "dev_TM3/wav.scp")] == ["TM3_100005", "TM3_100006"]
    # Their parallel references: the other speaker saying the same sentences.
    assert read(out / "dev_SF1/ref_wav.scp") == [
        [f"TM3_{i}", str((corpus / "vcc2016_training/TM3" / f"{i}.wav").resolve())] for i in (100011, 100012)]
    assert [u for u, _ in read(out / "dev_TM3/ref_wav.scp")] == ["SF1_100005", "SF1_100006"]
    assert not (out / "train_SF1/ref_wav.scp").exists() and not (out / "eval_SF1/ref_wav.scp").exists()
    for name in ("train_SF1", "dev_TM3", "eval_TM3"):
        keys = [u for u, _ in read(out / name / "wav.scp")]
        assert keys == sorted(keys, key=str.encode)
        spk = name.split("_")[1]
        assert read(out / name / "utt2spk") == [[u, spk] for u in keys]
        assert read(out / name / "spk2utt") == [[spk, *keys]]


def test_dev_held_out_from_own_range(corpus, tmp_path):
    out = tmp_path / "data"
    run_prepare(corpus, out, dev_from="own")
    assert len(read(out / "train_SF1/wav.scp")) == 4
    assert [u for u, _ in read(out / "dev_SF1/wav.scp")] == ["SF1_100005", "SF1_100006"]
    assert [u for u, _ in read(out / "dev_SF1/ref_wav.scp")] == ["TM3_100005", "TM3_100006"]


def test_dev_reference_left_out_where_the_other_speaker_did_not_record_it(corpus, tmp_path):
    out = tmp_path / "data"
    run_prepare(corpus, out, dev_from="own")
    assert (out / "dev_SF1/ref_wav.scp").is_file()
    # dev_SF1 holds SF1's own 100005-100006; TM3 (trained on 100007-100012)
    # loses one of them, so dev_SF1 cannot be scored and its stale reference goes.
    (corpus / "vcc2016_training/TM3/100006.wav").unlink()
    run_prepare(corpus, out, dev_from="own")
    assert not (out / "dev_SF1/ref_wav.scp").exists()
    assert [u for u, _ in read(out / "dev_SF1/wav.scp")] == ["SF1_100005", "SF1_100006"]
    assert [u for u, _ in read(out / "dev_TM3/ref_wav.scp")] == ["SF1_100011", "SF1_100012"]


def test_unknown_speaker_is_named_before_anything_is_written(corpus, tmp_path):
    out = tmp_path / "data"
    with pytest.raises(ValueError, match="--trgspk TX9"):
        run_prepare(corpus, out, trgspk="TX9")
    assert not out.exists()


def test_missing_corpus_and_missing_files(corpus, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_prepare(tmp_path / "nowhere", tmp_path / "data")
    (corpus / "evaluation_all/TM3/200003.wav").unlink()
    with pytest.raises(FileNotFoundError, match="200003.wav"):
        run_prepare(corpus, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_cli_exit_code_and_message(corpus, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_cyclegan_vc.bin.prepare_vcc2016_data", "--db", str(corpus),
         "--srcspk", "SF1", "--trgspk", "SF1", "--outdir", str(tmp_path / "d")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "both SF1" in proc.stderr
