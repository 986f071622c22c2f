#!/usr/bin/env python3
"""Kaldi-style data dirs for one speaker pair of a corpus in the VCC2016 layout.

    <db>/vcc2016_training/<SPK>/<id>.wav   training sentences
    <db>/evaluation_all/<SPK>/<id>.wav     evaluation sentences (parallel)

Writes data/{train,dev,eval}_<SPK> for the source and the target speaker,
each with wav.scp, utt2spk and spk2utt (LC_ALL=C sorted, utterance ids
<SPK>_<id>):

- train: the paper's non-parallel split; the source speaker takes the first
  id range and the target the second, so no sentence is shared.
- dev: a few utterances of each speaker, by default taken from the *other*
  speaker's training range (never trained on by that speaker, disjoint from
  the evaluation sentences); with --dev_from own, held out from the end of
  the speaker's own training range instead (for corpora in which a speaker
  only recorded its own range). Used for ESPnet's validation losses, and
  for judging settings without touching the evaluation sentences: each dev
  dir also gets ref_wav.scp, the other speaker's recordings of the same
  sentences, so stages 5-6 score it (--test_sets "dev_<src> dev_<trg>").
  Where the other speaker did not record them, ref_wav.scp is left out and
  the log says so.
- eval: the evaluation ids, for both speakers (parallel, for scoring).

Files are selected by id, never by globbing, since some copies of
evaluation_all/ carry stray training files.
"""

import argparse
import logging
from pathlib import Path
from typing import List

from espnet2_cyclegan_vc.bin import add_log_level_argument, main_with_options
from espnet2_cyclegan_vc.fileio import write_text_atomic

VCC2016_SOURCES = ("SF1", "SF2", "SF3", "SM1", "SM2")
VCC2016_TARGETS = ("TF1", "TF2", "TM1", "TM2", "TM3")


def id_range(text: str) -> List[int]:
    """'100001-100081' -> [100001, ..., 100081]."""
    try:
        first, last = (int(v) for v in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIRST-LAST, got {text!r}")
    if last < first:
        raise argparse.ArgumentTypeError(f"empty id range {text!r}")
    return list(range(first, last + 1))


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="Corpus root holding vcc2016_training/ and evaluation_all/")
    parser.add_argument("--srcspk", required=True)
    parser.add_argument("--trgspk", required=True)
    parser.add_argument("--outdir", default="data")
    parser.add_argument("--src_train_ids", type=id_range, default=id_range("100001-100081"))
    parser.add_argument("--trg_train_ids", type=id_range, default=id_range("100082-100162"))
    parser.add_argument("--eval_ids", type=id_range, default=id_range("200001-200054"))
    parser.add_argument("--num_dev", type=int, default=5, help="Validation utterances per speaker")
    parser.add_argument("--dev_from", choices=("other", "own"), default="other",
                        help="Take dev utterances from the other speaker's training ids or hold out own ones")
    parser.add_argument(
        "--speakers", nargs="*", default=list(VCC2016_SOURCES + VCC2016_TARGETS),
        help="Speaker ids the corpus has (checked before anything is written)",
    )
    add_log_level_argument(parser)
    return parser


def _scp(entries) -> str:
    return "".join(f"{utt} {path}\n" for utt, path in sorted(entries, key=lambda e: e[0].encode()))


def write_data_dir(outdir: Path, spk: str, entries, ref_entries=None) -> bool:
    """entries: (utt_id, wav_path); writes atomically, sorted as LC_ALL=C does.

    ref_entries, where given, become ref_wav.scp (the parallel reference that
    stage 6 scores the dir's conversions against); where not, a stale
    ref_wav.scp is removed. A file whose content would not change is left
    alone (a re-run keeps its modification time). Returns whether anything
    was written.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    entries = sorted(entries, key=lambda e: e[0].encode())
    files = {
        "wav.scp": _scp(entries),
        "utt2spk": "".join(f"{utt} {spk}\n" for utt, _ in entries),
        "spk2utt": f"{spk} {' '.join(utt for utt, _ in entries)}\n",
    }
    if ref_entries is not None:
        files["ref_wav.scp"] = _scp(ref_entries)
    elif (outdir / "ref_wav.scp").exists():
        (outdir / "ref_wav.scp").unlink()
    written = False
    for name, content in files.items():
        path = outdir / name
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            continue
        write_text_atomic(path, content)
        written = True
    return written


def prepare(db, srcspk, trgspk, outdir, src_train_ids, trg_train_ids, eval_ids, num_dev, speakers, dev_from="other"):
    db, outdir = Path(db), Path(outdir)
    for sub in ("vcc2016_training", "evaluation_all"):
        if not (db / sub).is_dir():
            raise FileNotFoundError(f"{db / sub} does not exist: is --db (VCC2016 in db.sh) the extracted corpus?")
    for role, spk in (("--srcspk", srcspk), ("--trgspk", trgspk)):
        if spk not in speakers:
            raise ValueError(f"{role} {spk} is not a speaker of this corpus; choose from {' '.join(speakers)}")
    if srcspk == trgspk:
        raise ValueError(f"--srcspk and --trgspk are both {srcspk}")
    if set(src_train_ids) & set(trg_train_ids):
        raise ValueError("source and target training id ranges overlap: the split would be parallel")

    if num_dev < 1:
        raise ValueError(f"--num_dev must be >= 1 (ESPnet needs validation data), got {num_dev}")
    if dev_from == "other":
        src_dev, trg_dev = trg_train_ids[-num_dev:], src_train_ids[-num_dev:]
    else:
        if num_dev >= min(len(src_train_ids), len(trg_train_ids)):
            raise ValueError(f"--num_dev {num_dev} would leave no training utterances")
        src_dev, trg_dev = src_train_ids[-num_dev:], trg_train_ids[-num_dev:]
        src_train_ids, trg_train_ids = src_train_ids[:-num_dev], trg_train_ids[:-num_dev]
    sets = {
        f"train_{srcspk}": (srcspk, "vcc2016_training", src_train_ids),
        f"train_{trgspk}": (trgspk, "vcc2016_training", trg_train_ids),
        f"dev_{srcspk}": (srcspk, "vcc2016_training", src_dev),
        f"dev_{trgspk}": (trgspk, "vcc2016_training", trg_dev),
        f"eval_{srcspk}": (srcspk, "evaluation_all", eval_ids),
        f"eval_{trgspk}": (trgspk, "evaluation_all", eval_ids),
    }
    # Check every file before writing anything, so a bad corpus leaves no
    # partial data dirs behind.
    resolved = {}
    missing = []
    for name, (spk, sub, ids) in sets.items():
        entries = []
        for i in ids:
            path = (db / sub / spk / f"{i}.wav").resolve()
            if path.is_file():
                entries.append((f"{spk}_{i}", str(path)))
            else:
                missing.append(str(path))
        resolved[name] = (spk, entries)
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} wav files missing from {db}, e.g. {missing[0]}"
        )
    # Parallel references of the dev sets: the other speaker saying the same
    # sentences, where the corpus has them.
    refs = {}
    for name, other, ids in ((f"dev_{srcspk}", trgspk, src_dev), (f"dev_{trgspk}", srcspk, trg_dev)):
        paths = [(f"{other}_{i}", (db / "vcc2016_training" / other / f"{i}.wav").resolve()) for i in ids]
        if all(path.is_file() for _, path in paths):
            refs[name] = [(utt, str(path)) for utt, path in paths]
        else:
            logging.info(f"{outdir / name}: no ref_wav.scp, {other} did not record its sentences")
    for name, (spk, entries) in resolved.items():
        written = write_data_dir(outdir / name, spk, entries, refs.get(name))
        logging.info(f"{outdir / name}: {len(entries)} utterances{'' if written else ', up to date'}")


def main(cmd=None):
    main_with_options("prepare_vcc2016_data", get_parser(), prepare, cmd)


if __name__ == "__main__":
    main()
