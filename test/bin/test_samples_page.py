"""Tests of the samples page (espnet2_cyclegan_vc.bin.samples_page).

Decode directories are laid out as stage 5-6 leave them and scored by the real
scorer on VCC2016 evaluation wavs; paths hold spaces and non-ASCII letters.
The page of the mini recipe is opened in a real browser in test_mini_recipe.py.
"""

import json
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from espnet2_cyclegan_vc.bin import samples_page, vc_score

from conftest import logged_errors, needs, vcc2016_root
from helpers.html import parse_html

VCC = vcc2016_root() / "evaluation_all"
needs_vcc = needs(VCC, "VCC2016 evaluation set")
SENTENCES = ["200001", "200002", "200003"]
def score_decode_dir(decode_dir, converted_from, listening=False):
    """A decode dir of SF1->TM3 whose 'converted' wavs are copies of real wavs.

    Args:
        converted_from: "SF1" (source copies: converted == baseline) or "TM3"
            (target copies: a perfect conversion).
        listening: also CER/WER and MOS (the real recogniser and MOS model).
    """
    data = decode_dir.parent.parent / "data"
    for spk in ("SF1", "TM3"):
        (data / f"eval_{spk}").mkdir(parents=True, exist_ok=True)
        (data / f"eval_{spk}/wav.scp").write_text(
            "".join(f"{spk}_{s} {VCC / spk / f'{s}.wav'}\n" for s in SENTENCES))
    conv = decode_dir / "src_to_trg"
    (conv / "wav").mkdir(parents=True)
    lines = []
    for s in SENTENCES:
        wav = conv / "wav" / f"SF1_{s}.wav"
        shutil.copy(VCC / converted_from / f"{s}.wav", wav)
        lines.append(f"SF1_{s} {wav}\n")
    (conv / "wav.scp").write_text("".join(lines))
    vc_score.main([
        "--converted_scp", str(conv / "wav.scp"),
        "--source_scp", str(data / "eval_SF1/wav.scp"), "--target_scp", str(data / "eval_TM3/wav.scp"),
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(conv / "scoring"),
        "--world_conf", '{"f0_method": "dio"}', "--num_plots", "2",
        "--asr", str(listening).lower(), "--mos", str(listening).lower(),
    ])
    return json.loads((conv / "scoring/summary.json").read_text())


def media_files(page_path, root):
    """Every audio/img/link target of the page, resolved against its folder."""
    files = []
    for element in root.iter():
        for attr in ("src", "href"):
            if attr in element.attrs:
                url = element.attrs[attr]
                assert "://" not in url, f"{url}: the page must not need a network"
                files.append(page_path.parent / unquote(url))
    return files


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    base = tmp_path_factory.mktemp("pages") / "exp dir ü"
    summaries = {
        "copy": score_decode_dir(base / "vc_copy" / "decode latest", "SF1", listening=True),
        "oracle": score_decode_dir(base / "vc_oracle" / "decode_é", "TM3"),
    }
    return base, summaries


@needs_vcc
def test_single_decode_dir_page(scored, capsys):
    base, summaries = scored
    decode_dir = base / "vc_copy" / "decode latest"
    samples_page.main([str(decode_dir), "--num_utts", "0"])
    page = decode_dir / "index.html"
    root = parse_html(page)

    # One row per matched sentence with source, target and converted players.
    rows = [r for r in root.iter("tr") if "data-sentence" in r.attrs]
    assert [r.attrs["data-sentence"] for r in rows] == SENTENCES
    for row in rows:
        roles = [p.attrs["data-role"] for p in row.iter("div") if p.attrs.get("class") == "player"]
        assert roles == ["source", "target", "converted"]
        assert len(list(row.iter("audio"))) == 3

    # Every link resolves to a file inside the page's folder (self-contained).
    files = media_files(page, root)
    assert len([f for f in files if f.suffix == ".wav"]) == 9
    for f in files:
        assert f.is_file(), f
        assert f.resolve().is_relative_to(decode_dir.resolve()), f
    # Converted wavs are linked in place; the corpus's wavs are copied next to the page.
    converted = [f for f in files if f.parent.name == "wav"]
    assert sorted(f.name for f in converted) == [f"SF1_{s}.wav" for s in SENTENCES]
    copied = {f.relative_to(decode_dir).parts[:2] for f in files if "page_files" in f.parts}
    assert copied == {("page_files", "SF1"), ("page_files", "TM3")}
    assert (decode_dir / "page_files/TM3/200002.wav").read_bytes() == (VCC / "TM3/200002.wav").read_bytes()

    # Pictures exist for the first two sentences (--num_plots 2) and are shown there.
    imgs = [Path(unquote(i.attrs["src"])).name for i in root.iter("img")]
    assert imgs == ["200001.png", "200002.png"]

    # The score table shows exactly summary.json's means.
    metrics = summaries["copy"]["metrics"]
    table = next(t for t in root.iter("table") if t.attrs.get("class") == "scores")
    shown = {}
    for tr in table.iter("tr"):
        cells = [td for td in tr.iter("td") if "data-mean" in td.attrs]
        if cells:
            shown[tr.attrs["data-metric"]] = [float(c.attrs["data-mean"]) for c in cells]
    for metric in ("mcd", "mcd_speech", "logf0_rmse", "f0corr"):
        assert shown[metric] == [metrics[f"{metric}_converted"]["mean"], metrics[f"{metric}_baseline"]["mean"]]
    assert shown["pause_power_change"] == [metrics["pause_power_change"]["mean"]]
    # Intelligibility and naturalness: converted and baseline exactly as summary.json,
    # the resynthesis and the target beside the baseline.
    summary = summaries["copy"]
    for block, key in (("intelligibility", "cer"), ("intelligibility", "wer"), ("naturalness", "mean")):
        roles = summary[block]["roles"]
        assert shown[f"{block}_{key}"] == [roles["converted"][key], roles["baseline"][key]]
    wer_row = next(tr for tr in table.iter("tr") if tr.attrs.get("data-metric") == "intelligibility_wer")
    resynth_wer = summary["intelligibility"]["roles"]["resynthesis"]["wer"]
    assert f"WORLD resynthesis {resynth_wer:.1f}" in wer_row.all_text()
    assert "reference: ASR of the source" in wer_row.all_text()
    # Converted == source here: nothing is marked better than the baseline.
    assert not [td for td in table.iter("td") if "better" in td.attrs.get("class", "")]

    # Each sentence's scores are those of scores.tsv, with what the recogniser heard.
    tsv = samples_page.read_scores_tsv(decode_dir / "src_to_trg/scoring/scores.tsv")
    heard = {line.split("\t")[0]: line.split("\t")[4] for line in
             (decode_dir / "src_to_trg/scoring/transcripts.tsv").read_text().splitlines()
             if line.split("\t")[1] == "converted"}
    divs = [div for div in root.iter("div") if "data-utt" in div.attrs]
    assert len(divs) == 3
    for div in divs:
        scores = tsv[div.attrs["data-utt"]]
        assert f"MCD: {scores['mcd_converted']:.3f}" in div.all_text()
        assert (f"WER %: {scores['wer_converted']:.1f} (baseline {scores['wer_baseline']:.1f}, "
                f"resynthesis {scores['wer_resynthesis']:.1f}, target {scores['wer_target']:.1f})") in div.all_text()
        assert f"MOS: {scores['mos_converted']:.2f}" in div.all_text()
        assert heard[div.attrs["data-utt"].split("_")[1]] in div.all_text()


@needs_vcc
def test_page_compares_experiments_in_columns(scored, tmp_path):
    base, summaries = scored
    page = tmp_path / "compare ö" / "index.html"
    samples_page.main([
        str(base / "vc_copy" / "decode latest"), str(base / "vc_oracle" / "decode_é"),
        "--output", str(page), "--num_utts", "2", "--labels", "copy", "oracle",
    ])
    root = parse_html(page)
    sections = [s for s in root.iter("section")]
    assert [s.attrs["data-direction"] for s in sections] == ["SF1->TM3"]
    header = [th.all_text() for th in next(root.iter("table")).iter("th")]
    assert any(h.startswith("copy") for h in header) and any(h.startswith("oracle") for h in header)
    rows = [r for r in root.iter("tr") if "data-sentence" in r.attrs]
    assert [r.attrs["data-sentence"] for r in rows] == SENTENCES[:2]
    for row in rows:
        roles = [p.attrs["data-role"] for p in row.iter("div") if p.attrs.get("class") == "player"]
        assert roles == ["source", "target", "converted", "converted"]
    for f in media_files(page, root):
        assert f.is_file() and f.resolve().is_relative_to(page.parent.resolve()), f
    # The oracle's MCD (target copies) is 0 and better than its baseline: bold.
    table = next(t for t in root.iter("table") if t.attrs.get("class") == "scores")
    mcd_row = next(tr for tr in table.iter("tr") if tr.attrs.get("data-metric") == "mcd")
    cells = list(mcd_row.iter("td"))
    assert float(cells[2].attrs["data-mean"]) == summaries["oracle"]["metrics"]["mcd_converted"]["mean"] == 0.0
    assert "better" in cells[2].attrs["class"] and "better" not in cells[0].attrs["class"]
    # Scored without --asr / --mos: n/a in the oracle's columns, the copy's figures beside them.
    wer_cells = [td.all_text() for td in next(tr for tr in table.iter("tr")
                                              if tr.attrs.get("data-metric") == "intelligibility_wer").iter("td")]
    assert wer_cells[2:] == ["n/a", "n/a"] and wer_cells[0] != "n/a"


@needs_vcc
def test_missing_audio_is_shown_as_missing(scored, tmp_path):
    base, _ = scored
    decode_dir = tmp_path / "decode"
    shutil.copytree(base / "vc_copy" / "decode latest", decode_dir)
    # The copied scp still names the original converted wavs; point it at the
    # copies and delete one of them.
    scp = decode_dir / "src_to_trg/wav.scp"
    scp.write_text(scp.read_text().replace(str(base / "vc_copy" / "decode latest"), str(decode_dir)))
    summary_path = decode_dir / "src_to_trg/scoring/summary.json"
    summary = json.loads(summary_path.read_text())
    summary["inputs"]["converted_scp"] = str(scp)
    summary_path.write_text(json.dumps(summary))
    (decode_dir / "src_to_trg/wav/SF1_200002.wav").unlink()

    samples_page.main([str(decode_dir)])
    root = parse_html(decode_dir / "index.html")
    row = next(r for r in root.iter("tr") if r.attrs.get("data-sentence") == "200002")
    assert len(list(row.iter("audio"))) == 2
    missing = [s.all_text() for s in row.iter("span") if s.attrs.get("class") == "missing"]
    assert missing == [f"missing: {decode_dir / 'src_to_trg/wav/SF1_200002.wav'}"]
    for f in media_files(decode_dir / "index.html", root):
        assert f.is_file()


def test_decode_dir_without_scores_is_named(tmp_path, capsys, caplog):
    (tmp_path / "decode" / "src_to_trg").mkdir(parents=True)
    with pytest.raises(SystemExit) as e:
        samples_page.main([str(tmp_path / "decode")])
    message = logged_errors(caplog)
    assert e.value.code == 1 and message.startswith("samples_page: error: ")
    assert "run stage 6 first" in message and str(tmp_path / "decode") in message
    with pytest.raises(SystemExit):
        samples_page.main([str(tmp_path / "a"), str(tmp_path / "b")])  # --output needed
    assert "--output is required" in capsys.readouterr().err


@needs_vcc
def test_listening_rows_put_converted_first_and_mark_it_better(scored, tmp_path):
    base, _ = scored
    decode_dir = tmp_path / "decode"
    shutil.copytree(base / "vc_copy" / "decode latest", decode_dir)
    summary_path = decode_dir / "src_to_trg/scoring/summary.json"
    summary = json.loads(summary_path.read_text())
    # Converted and baseline differ here (the scored copy has them equal).
    summary["intelligibility"]["roles"]["converted"]["wer"] = 12.5
    summary["intelligibility"]["roles"]["baseline"]["wer"] = 50.0
    summary["naturalness"]["roles"]["converted"]["mean"] = 1.5
    summary["naturalness"]["roles"]["baseline"]["mean"] = 4.0
    summary_path.write_text(json.dumps(summary))
    samples_page.main([str(decode_dir)])
    table = next(t for t in parse_html(decode_dir / "index.html").iter("table") if t.attrs.get("class") == "scores")
    rows = {tr.attrs.get("data-metric"): list(tr.iter("td")) for tr in table.iter("tr")}
    wer, mos = rows["intelligibility_wer"], rows["naturalness_mean"]
    assert [float(td.attrs["data-mean"]) for td in wer] == [12.5, 50.0] and "better" in wer[0].attrs["class"]
    # MOS: higher is better, so the lower converted MOS is not marked.
    assert [float(td.attrs["data-mean"]) for td in mos] == [1.5, 4.0] and "better" not in mos[0].attrs["class"]
