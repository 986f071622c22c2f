#!/usr/bin/env python3
"""Convert recordings and folders of them with a trained model, in one command.

    cyclegan-vc-convert --model packed_model.zip --to TM3 --output_dir converted/ talk.flac recordings/
    python -m espnet2_cyclegan_vc.bin.vc_convert --model exp/vc_x --direction src_to_trg --output_dir out/ in/
    cyclegan-vc-convert --model packed_model.zip --stream --block_ms 20 --output_dir live/ talk.wav

MODEL is a packed model (stage 7's zip), an experiment directory (its
config.yaml and ``--model_file``), or a Hugging Face Hub repo id (owner/name),
downloaded once into huggingface_hub's cache. INPUT is any mix of sound files
(whatever libsndfile reads: wav, flac, ogg/opus, mp3; any rate, any channels)
and folders, searched recursively for files with those extensions. Each
output mirrors its input's path relative to the folder given (a file given by
itself lands at the top) as a 16-bit wav at the input's rate (or
``--output_fs``), at the input's speech level, peaks at most -1 dBFS.

A re-run converts only what is missing (``--overwrite`` redoes all); every
output is written atomically. A file that cannot be converted is named with
the reason and skipped; the exit status is 1 when anything was skipped.
"""

import argparse
import contextlib
import io
import logging
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import soundfile
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from espnet2_cyclegan_vc.bin import add_log_level_argument, positive_float, positive_int, setup_logging
from espnet2_cyclegan_vc.conversion import convert_file
from espnet2_cyclegan_vc.directions import DIRECTIONS
from espnet2_cyclegan_vc.hub import HubError, download_pack, is_repo_id
from espnet2_cyclegan_vc.model_card import MODEL_INFO, ModelInfo, speakers_from_config
from espnet2_cyclegan_vc.model_io import unpack_converter
from espnet2_cyclegan_vc.world import AudioError

# ESPnet prints "Failed to import Flash Attention ..." on stdout when its
# attention module is imported; that is noise for this command's users.
with contextlib.redirect_stdout(io.StringIO()) as _import_noise:
    from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter

AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".caf",
                  ".w64", ".rf64")


class Job(NamedTuple):
    source: str  # input file
    output: Path  # wav to write
    seconds: float  # duration by the file's header (0 if unreadable), for the progress bar


class ResolvedModel(NamedTuple):
    train_config: str
    model_file: str
    info: ModelInfo


def resolve_model(model: str, workdir: str, model_file: Optional[str] = None) -> ResolvedModel:
    """A packed archive, an experiment directory or a Hub repo id -> the config, model file and facts."""
    path = Path(model)
    if path.is_dir():
        config = path / "config.yaml"
        chosen = Path(model_file) if model_file and Path(model_file).is_absolute() else path / (model_file or "latest.pth")
        for needed in (config, chosen):
            if not needed.is_file():
                raise FileNotFoundError(f"{model}: not an experiment directory with {needed.name} "
                                        f"({needed} does not exist; --model_file picks the model file)")
        info_file = path / MODEL_INFO
        return ResolvedModel(str(config), str(chosen), _model_info(str(config), str(info_file)
                                                                    if info_file.is_file() else None))
    if not path.exists():
        if not is_repo_id(model):
            raise FileNotFoundError(f"--model {model}: no such file or directory, and not a Hub repo id (owner/name)")
        path = Path(download_pack(model))
    files = unpack_converter(path, workdir)
    return ResolvedModel(files["train_config"], files["model_file"],
                         _model_info(files["train_config"], files.get("model_info")))


def _model_info(train_config: str, info_file: Optional[str]) -> ModelInfo:
    if info_file:
        return ModelInfo.read(info_file)
    import yaml

    with open(train_config, encoding="utf-8") as f:
        train_args = yaml.safe_load(f)
    src, trg = speakers_from_config(train_args)
    return ModelInfo(srcspk=src, trgspk=trg, fs=int((train_args.get("world_conf") or {}).get("fs", 16000)),
                     num_updates=0)


def choose_direction(info: ModelInfo, direction: Optional[str], to: Optional[str]) -> str:
    if to is None:
        return direction or "src_to_trg"
    choices = {out: d for d, (_, out) in info.directions().items()}
    if to not in choices:
        raise ValueError(f"--to {to}: the model converts into {' or '.join(choices)} only")
    if direction and direction != choices[to]:
        raise ValueError(f"--to {to} and --direction {direction} disagree (into {to} is {choices[to]})")
    return choices[to]


def find_jobs(inputs: List[str], output_dir: Path) -> Tuple[List[Job], List[Tuple[str, str]]]:
    """(jobs in input order, [(path, reason)] skipped before converting)."""
    jobs, skipped, claimed = [], [], {}
    out_root = output_dir.resolve()

    def add(source: Path, relative: Path):
        output = output_dir / relative.with_suffix(".wav")
        if output in claimed:
            skipped.append((str(source), f"its output {output} is also the output of {claimed[output]}"))
            return
        claimed[output] = source
        try:
            seconds = soundfile.info(str(source)).duration
        except Exception:  # unreadable: convert_file names the reason
            seconds = 0.0
        jobs.append(Job(str(source), output, seconds))

    for given in inputs:
        path = Path(given)
        if path.is_file():
            add(path, Path(path.name))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                           and out_root not in p.resolve().parents)
            if not found:
                logging.warning(f"{given}: no sound files ({', '.join(AUDIO_SUFFIXES)}) in this folder")
            for p in found:
                add(p, p.relative_to(path))
        else:
            skipped.append((given, "no such file or folder"))
    return jobs, skipped


# Each worker process builds its own converter once (models are loaded once per job).
_worker: Dict[str, object] = {}


def _init_worker(train_config, model_file, f0_method, threads):
    import torch

    torch.set_num_threads(threads)
    with contextlib.redirect_stdout(io.StringIO()):
        _worker["vc"] = VoiceConverter(train_config, model_file, f0_method=f0_method)


def _convert_job(job: Job, direction: str, output_fs: Optional[int], chunk_s: float,
                 block_ms: Optional[float] = None):
    """(job, FileResult or None, reason of a skip or None, wall seconds)."""
    start = time.perf_counter()
    try:
        result = convert_file(_worker["vc"], job.source, str(job.output), direction, output_fs, chunk_s,
                              progress=_worker.get("progress"), stream_block_ms=block_ms)
        return job, result, None, time.perf_counter() - start
    except (AudioError, FloatingPointError) as e:
        reason = str(e)
        if reason.startswith(job.source + ": "):
            reason = reason[len(job.source) + 2:]
        return job, None, reason, time.perf_counter() - start


def run(args) -> int:
    output_dir = Path(args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"--output_dir {output_dir} is a file, not a folder")
    with tempfile.TemporaryDirectory(prefix="vc_convert_model.") as workdir:
        model = resolve_model(args.model, workdir, args.model_file)
        direction = choose_direction(model.info, args.direction, args.to)
        src, trg = model.info.directions()[direction]
        jobs, skipped = find_jobs(args.input, output_dir)
        todo = [j for j in jobs if args.overwrite or not j.output.exists()]
        done_before = len(jobs) - len(todo)
        logging.info(f"{args.model}: {src} -> {trg} ({direction}); {len(todo)} file(s) to convert, "
                     f"{done_before} already converted, {len(skipped)} skipped")
        for source, reason in skipped:
            logging.warning(f"{source}: skipped: {reason}")
        converted, limited, audio_s, start = 0, 0, 0.0, time.perf_counter()
        threads = 1 if args.nj > 1 else max(1, torch_threads())
        init = (model.train_config, model.model_file, args.f0_method, threads)
        bar = tqdm(total=sum(j.seconds for j in todo), unit="s", unit_scale=False, desc="converting",
                   mininterval=1.0, file=sys.stderr, disable=not todo,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of audio [{elapsed}<{remaining}]")
        with logging_redirect_tqdm(), bar, _executor(args.nj, init, bar) as pool:
            block_ms = args.block_ms if args.stream else None
            results = pool.map(_convert_job, todo, [direction] * len(todo), [args.output_fs] * len(todo),
                               [args.chunk_s] * len(todo), [block_ms] * len(todo))
            for job, result, reason, _ in results:
                # In this process the bar moved piece by piece already; from workers it moves per file.
                bar.update(max(0.0, job.seconds - pool.reported(job)))
                if reason is not None:
                    skipped.append((job.source, reason))
                    logging.warning(f"{job.source}: skipped: {reason}")
                    continue
                converted += 1
                limited += result.limited
                audio_s += result.seconds
        wall = time.perf_counter() - start
    print(summary(converted, done_before, skipped, audio_s, wall, limited, output_dir))
    return 1 if skipped else 0


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


class _InProcess:
    """The executor interface for --nj 1: everything in this process, the bar moved after every piece."""

    def __init__(self, init, bar):
        _init_worker(*init)
        self._seconds = 0.0
        _worker["progress"] = self._progress
        self._bar = bar

    def _progress(self, seconds: float) -> None:
        self._seconds += seconds
        self._bar.update(seconds)

    def reported(self, job: Job) -> float:
        """Seconds of job the bar has moved already (then the count starts again for the next file)."""
        seconds, self._seconds = self._seconds, 0.0
        return seconds

    def map(self, fn, *iterables):
        return map(fn, *iterables)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _worker.pop("progress", None)
        return False


class _Workers(ProcessPoolExecutor):
    """--nj N: spawned processes (a fresh interpreter each, no OpenMP state copied by fork)."""

    def __init__(self, nj: int, init):
        super().__init__(nj, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                         initargs=init)

    def reported(self, job: Job) -> float:
        return 0.0


def _executor(nj: int, init, bar):
    return _InProcess(init, bar) if nj == 1 else _Workers(nj, init)


def summary(converted: int, done_before: int, skipped: List[Tuple[str, str]], audio_s: float, wall: float,
            limited: int, output_dir: Path) -> str:
    rtf = f", real-time factor {wall / audio_s:.3f}" if audio_s > 0 else ""
    lines = [f"vc_convert: converted {converted} file(s), {audio_s:.1f} s of audio in {wall:.1f} s{rtf}; "
             f"{limited} needed peak limiting; {done_before} already converted; skipped {len(skipped)}; "
             f"output in {output_dir}"]
    lines += [f"  skipped {source}: {reason}" for source, reason in skipped]
    return "\n".join(lines)


def get_parser():
    parser = argparse.ArgumentParser(prog="cyclegan-vc-convert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="+", help="Sound files and folders (searched recursively)")
    parser.add_argument("--model", required=True,
                        help="Packed model (zip), experiment directory, or Hugging Face Hub repo id")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--direction", choices=DIRECTIONS, default=None, help="Default: src_to_trg")
    parser.add_argument("--to", default=None, metavar="SPEAKER",
                        help="Convert into this speaker (a name of the model's) instead of naming a direction")
    parser.add_argument("--model_file", default=None,
                        help="Model file of an experiment directory (default: latest.pth)")
    parser.add_argument("--output_fs", type=positive_int, default=None, help="Default: the input's rate")
    parser.add_argument("--nj", type=positive_int, default=1, help="Parallel conversion processes")
    parser.add_argument("--overwrite", action="store_true", help="Convert again what is already converted")
    parser.add_argument("--f0_method", choices=("harvest", "dio"), default=None,
                        help="F0 analysis (default: the training's; dio is faster, see the README)")
    parser.add_argument("--stream", action="store_true",
                        help="Convert as a live source would be: --block_ms blocks through the streaming "
                             "converter (fixed latency, see the README); lower quality than whole files")
    parser.add_argument("--block_ms", type=positive_float, default=20.0,
                        help="Block length of --stream in milliseconds")
    parser.add_argument("--chunk_s", type=float, default=30.0,
                        help="Long recordings are converted in pieces of about this length")
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    if _import_noise.getvalue().strip():
        logging.debug(f"ESPnet's import said: {_import_noise.getvalue().strip()}")
    try:
        status = run(args)
    except (ValueError, OSError, HubError, RuntimeError) as e:
        logging.error(f"vc_convert: error: {e}")
        logging.debug("traceback", exc_info=True)
        status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
