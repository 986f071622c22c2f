"""Tests for the shell helpers under egs2/TEMPLATE/vc1/utils.

Each script is run through bash in a temporary directory, and the tests check
what the scripts write (files, logs, stdout/stderr), not only exit codes.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT

UTILS = REPO_ROOT / "egs2/TEMPLATE/vc1/utils"


def run(script, *args, cwd, stdin=None, env=None):
    """Run utils/<script> with bash and return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        ["bash", str(UTILS / script), *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def lines(path):
    return Path(path).read_text().splitlines()


@pytest.mark.parametrize(
    "script",
    [
        "parse_options.sh",
        "run_job.sh",
        "slurm_job.sh",
        "split_scp.sh",
        "filter_scp.sh",
        "utt2spk_to_spk2utt.sh",
        "fix_data_dir.sh",
        "validate_data_dir.sh",
    ],
)
def test_scripts_are_executable_bash(script):
    path = UTILS / script
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/usr/bin/env bash\n")


# --------------------------------------------------------------------------
# parse_options.sh
# --------------------------------------------------------------------------

CALLER = """#!/usr/bin/env bash
set -euo pipefail
nj=1
train_config=conf/train.yaml
use_gpu=false
help_message="Usage: caller.sh [options] <src> <dst>"
. "{utils}/parse_options.sh"
echo "nj=$nj"
echo "train_config=$train_config"
echo "use_gpu=$use_gpu"
echo "nargs=$#"
for a in "$@"; do echo "arg=$a"; done
# The caller's own shell options must survive the sourced parser.
case $- in *e*) echo errexit=on ;; *) echo errexit=off ;; esac
case $- in *u*) echo nounset=on ;; *) echo nounset=off ;; esac
"""


@pytest.fixture
def caller(tmp_path):
    path = write(tmp_path / "caller.sh", CALLER.format(utils=UTILS))
    return path


def parse(caller, *args):
    return subprocess.run(
        ["bash", str(caller), *args],
        cwd=caller.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


def values(stdout):
    out = {}
    args = []
    for line in stdout.splitlines():
        key, _, val = line.partition("=")
        if key == "arg":
            args.append(val)
        else:
            out[key] = val
    out["args"] = args
    return out


def test_parse_options_underscore_and_dash_forms(caller):
    res = parse(caller, "--nj", "8", "--train-config", "a.yaml", "--use_gpu", "true")
    assert res.returncode == 0, res.stderr
    v = values(res.stdout)
    assert v["nj"] == "8"
    assert v["train_config"] == "a.yaml"
    assert v["use_gpu"] == "true"
    assert v["nargs"] == "0"
    # set -eu of the caller is untouched.
    assert v["errexit"] == "on" and v["nounset"] == "on"


def test_parse_options_equals_form_and_values_with_spaces(caller):
    res = parse(caller, "--train_config=x=y.yaml", "--nj", "a b")
    assert res.returncode == 0, res.stderr
    v = values(res.stdout)
    assert v["train_config"] == "x=y.yaml"  # only the first '=' splits
    assert v["nj"] == "a b"


def test_parse_options_keeps_positional_args(caller):
    res = parse(caller, "--nj", "2", "src dir", "dst", "--nj", "5")
    assert res.returncode == 0, res.stderr
    v = values(res.stdout)
    assert v["nj"] == "2"  # parsing stops at the first positional argument
    assert v["nargs"] == "4"
    assert v["args"] == ["src dir", "dst", "--nj", "5"]


def test_parse_options_double_dash_ends_options(caller):
    res = parse(caller, "--", "--nj", "3")
    assert res.returncode == 0, res.stderr
    v = values(res.stdout)
    assert v["nj"] == "1"
    assert v["args"] == ["--nj", "3"]


def test_parse_options_unknown_option_fails(caller):
    res = parse(caller, "--nj", "2", "--no-such-opt", "1", "a")
    assert res.returncode == 1
    assert "--no-such-opt" in res.stderr
    assert "nj=" not in res.stdout  # the caller did not carry on


def test_parse_options_missing_value_fails(caller):
    res = parse(caller, "--nj")
    assert res.returncode == 1
    assert "--nj" in res.stderr
    assert "value" in res.stderr


def test_parse_options_help(caller):
    for flag in ("--help", "-h"):
        res = parse(caller, flag)
        assert res.returncode == 0
        assert "Usage: caller.sh [options] <src> <dst>" in res.stdout
        assert "nj=" not in res.stdout


def test_parse_options_config_file(caller, tmp_path):
    write(tmp_path / "my.conf", "# a comment\nnj=6\ntrain_config=from_conf.yaml\n")
    res = parse(caller, "--config", "my.conf", "--nj", "9", "pos")
    assert res.returncode == 0, res.stderr
    v = values(res.stdout)
    assert v["train_config"] == "from_conf.yaml"
    assert v["nj"] == "9"  # the command line overrides the config file
    assert v["args"] == ["pos"]

    # A later --config is still applied before the other options.
    res = parse(caller, "--nj", "9", "--config=my.conf")
    v = values(res.stdout)
    assert res.returncode == 0, res.stderr
    assert v["nj"] == "9" and v["train_config"] == "from_conf.yaml"


def test_parse_options_missing_config_file(caller):
    res = parse(caller, "--config", "absent.conf")
    assert res.returncode == 1
    assert "absent.conf" in res.stderr


def test_parse_options_does_not_leak_helpers(tmp_path):
    script = write(
        tmp_path / "s.sh",
        f'nj=1\n. "{UTILS}/parse_options.sh"\necho "$nj"\n'
        "compgen -v _po_ || true\ndeclare -F _po_die || true\n",
    )
    res = subprocess.run(
        ["bash", str(script), "--nj", "3"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["3"]


# --------------------------------------------------------------------------
# run_job.sh
# --------------------------------------------------------------------------


def test_run_job_single(tmp_path):
    res = run("run_job.sh", "exp/log/hello.log", "echo", "hello", "world", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    log = (tmp_path / "exp/log/hello.log").read_text()
    body = log.splitlines()
    assert body[0] == "# echo hello world"
    assert any(line.startswith("# Started at") for line in body)
    assert "hello world" in body
    assert any(line.startswith("# Accounting: time=") and " s" in line for line in body)
    assert body[-1].startswith("# Ended (code 0) at")


def test_run_job_single_failure(tmp_path):
    res = run("run_job.sh", "log/f.log", "echo oops >&2; exit 3", cwd=tmp_path)
    assert res.returncode != 0
    assert "log/f.log" in res.stderr
    log = lines(tmp_path / "log/f.log")
    assert "oops" in log  # stderr goes to the log too
    assert log[-1].startswith("# Ended (code 3) at")


def test_run_job_array(tmp_path):
    res = run(
        "run_job.sh", "--gpu", "1", "--mem", "4G", "--num_threads", "2",
        "JOB=1:3", "log/x.JOB.log", "echo", "index=JOB", "out.JOB.txt",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "log").iterdir()) == [
        "x.1.log", "x.2.log", "x.3.log",
    ]
    for i in (1, 2, 3):
        log = lines(tmp_path / f"log/x.{i}.log")
        assert f"index={i} out.{i}.txt" in log
        assert log[-1].startswith("# Ended (code 0)")


def test_run_job_other_variable_name(tmp_path):
    res = run("run_job.sh", "N=2:3", "log/y.N.log", "echo part N", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "log").iterdir()) == ["y.2.log", "y.3.log"]
    assert "part 3" in lines(tmp_path / "log/y.3.log")


def test_run_job_array_failure_reports_failing_jobs(tmp_path):
    res = run(
        "run_job.sh", "JOB=1:4", "exp/log/x.JOB.log",
        "echo start JOB; test JOB -ne 2 && test JOB -ne 4",
        cwd=tmp_path,
    )
    assert res.returncode != 0
    assert "2 / 4" in res.stderr
    assert "exp/log/x.2.log" in res.stderr
    assert "exp/log/x.4.log" in res.stderr
    assert "exp/log/x.1.log" not in res.stderr
    assert "exp/log/x.3.log" not in res.stderr
    # All jobs ran to completion despite the failures.
    for i in (1, 2, 3, 4):
        assert f"start {i}" in lines(tmp_path / f"exp/log/x.{i}.log")
    assert lines(tmp_path / "exp/log/x.2.log")[-1].startswith("# Ended (code 1)")


def job_spans(logdir, name, n):
    """(start, end) of each job that logged two `date +%s.%N` lines, in start order."""
    return sorted(tuple(float(x) for x in lines(logdir / f"{name}.{i}.log")[3:5]) for i in range(1, n + 1))


@pytest.mark.parametrize("limit", ["option", "environment"])
def test_run_job_max_parallel_limits_the_jobs_running_at_once(tmp_path, limit):
    args = ["--max-jobs-run", "2"] if limit == "option" else []
    env = {"RUN_JOB_MAX_PARALLEL": "2"} if limit == "environment" else {}
    res = run("run_job.sh", *args, "JOB=1:4", "log/m.JOB.log", "date +%s.%N; sleep 0.5; date +%s.%N",
              cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    spans = job_spans(tmp_path / "log", "m", 4)
    for t in [start for start, _ in spans]:  # never more than two running at any start
        assert sum(start <= t < end for start, end in spans) <= 2
    # Unlimited, the four overlap.
    res = run("run_job.sh", "JOB=1:4", "log/u.JOB.log", "date +%s.%N; sleep 0.5; date +%s.%N", cwd=tmp_path)
    spans = job_spans(tmp_path / "log", "u", 4)
    assert max(start for start, _ in spans) < min(end for _, end in spans)


def test_run_job_pipes(tmp_path):
    # A whole pipeline as one quoted argument...
    res = run("run_job.sh", "log/p.log", "echo abc | tr a-z A-Z", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ABC" in lines(tmp_path / "log/p.log")
    # ...or as separate words with an escaped pipe, Kaldi style.
    res = run(
        "run_job.sh", "JOB=1:2", "log/q.JOB.log", "echo", "xJOB", "|", "tr", "x", "y",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "y1" in lines(tmp_path / "log/q.1.log")
    assert "y2" in lines(tmp_path / "log/q.2.log")


def test_run_job_keeps_arguments_with_spaces(tmp_path):
    # With several words, one holding whitespace stays one (quoted) word.
    res = run(
        "run_job.sh", "log/s.log", "bash", "-c", 'echo "[$1] [$2]"', "_", "a  b", "c",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "[a  b] [c]" in lines(tmp_path / "log/s.log")


def test_run_job_pipefail_in_command_is_reported(tmp_path):
    res = run("run_job.sh", "log/e.log", "set -o pipefail; false | cat", cwd=tmp_path)
    assert res.returncode != 0


def test_run_job_bounded_parallelism(tmp_path):
    res = run(
        "run_job.sh", "JOB=1:5", "log/b.JOB.log", "echo done JOB > out.JOB",
        cwd=tmp_path, env={"RUN_JOB_MAX_PARALLEL": "2"},
    )
    assert res.returncode == 0, res.stderr
    for i in range(1, 6):
        assert (tmp_path / f"out.{i}").read_text() == f"done {i}\n"


def test_run_job_rejects_shared_log_for_array(tmp_path):
    res = run("run_job.sh", "JOB=1:2", "log/same.log", "true", cwd=tmp_path)
    assert res.returncode != 0
    assert "JOB" in res.stderr


# --------------------------------------------------------------------------
# split_scp.sh
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n_lines,n_parts", [(10, 3), (9, 3), (7, 7), (5, 1), (11, 4)])
def test_split_scp(tmp_path, n_lines, n_parts):
    src = [f"utt{i:03d} /data/{i}.wav" for i in range(n_lines)]
    write(tmp_path / "in.scp", "\n".join(src) + "\n")
    outs = [tmp_path / f"split/out.{i}.scp" for i in range(1, n_parts + 1)]
    (tmp_path / "split").mkdir()
    res = run("split_scp.sh", "in.scp", *outs, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    parts = [lines(o) for o in outs]
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert min(sizes) >= 1
    # Contiguous and order-preserving: concatenation gives back the input.
    assert [line for p in parts for line in p] == src


def test_split_scp_too_many_outputs(tmp_path):
    write(tmp_path / "in.scp", "a 1\nb 2\n")
    res = run("split_scp.sh", "in.scp", "o1", "o2", "o3", cwd=tmp_path)
    assert res.returncode != 0
    assert "in.scp" in res.stderr
    assert not (tmp_path / "o1").exists()


def test_split_scp_missing_input(tmp_path):
    res = run("split_scp.sh", "absent.scp", "o1", cwd=tmp_path)
    assert res.returncode != 0
    assert "absent.scp" in res.stderr


# --------------------------------------------------------------------------
# filter_scp.sh
# --------------------------------------------------------------------------


def test_filter_scp(tmp_path):
    write(tmp_path / "in.scp", "d 4\nb 2\na 1\nc 3 extra\n")
    write(tmp_path / "ids", "c\na something\n")
    res = run("filter_scp.sh", "ids", "in.scp", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["a 1", "c 3 extra"]

    res = run("filter_scp.sh", "--exclude", "ids", "in.scp", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["d 4", "b 2"]


def test_filter_scp_empty_idlist_and_stdin(tmp_path):
    write(tmp_path / "in.scp", "x 1\ny 2\n")
    write(tmp_path / "empty", "")
    assert run("filter_scp.sh", "empty", "in.scp", cwd=tmp_path).stdout == ""
    res = run("filter_scp.sh", "--exclude", "empty", "in.scp", cwd=tmp_path)
    assert res.stdout.splitlines() == ["x 1", "y 2"]
    write(tmp_path / "ids", "y\n")
    res = run("filter_scp.sh", "ids", cwd=tmp_path, stdin="x 1\ny 2\n")
    assert res.stdout.splitlines() == ["y 2"]


def test_filter_scp_prefix_is_not_a_match(tmp_path):
    write(tmp_path / "in.scp", "utt1 a\nutt10 b\n")
    write(tmp_path / "ids", "utt1\n")
    res = run("filter_scp.sh", "ids", "in.scp", cwd=tmp_path)
    assert res.stdout.splitlines() == ["utt1 a"]


# --------------------------------------------------------------------------
# utt2spk_to_spk2utt.sh
# --------------------------------------------------------------------------


def test_utt2spk_to_spk2utt(tmp_path):
    utt2spk = "u3 s2\nu1 s1\nu2 s10\nu0 s2\nu9 B\n"
    expected = ["B u9", "s1 u1", "s10 u2", "s2 u3 u0"]  # LC_ALL=C speaker order
    res = run("utt2spk_to_spk2utt.sh", cwd=tmp_path, stdin=utt2spk)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == expected
    write(tmp_path / "utt2spk", utt2spk)
    res = run("utt2spk_to_spk2utt.sh", "utt2spk", cwd=tmp_path)
    assert res.stdout.splitlines() == expected


# --------------------------------------------------------------------------
# fix_data_dir.sh / validate_data_dir.sh
# --------------------------------------------------------------------------


def make_data_dir(root, utts, spk_of, wav_dir=None):
    """Write wav.scp / utt2spk / spk2utt for the given utterances (sorted)."""
    wav_dir = wav_dir or root / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    wavs = []
    for u in sorted(utts):
        w = wav_dir / f"{u}.wav"
        w.write_bytes(b"RIFF")
        wavs.append(f"{u} {w}")
    write(data / "wav.scp", "\n".join(wavs) + "\n")
    write(data / "utt2spk", "".join(f"{u} {spk_of[u]}\n" for u in sorted(utts)))
    spk2utt = {}
    for u in sorted(utts):
        spk2utt.setdefault(spk_of[u], []).append(u)
    write(
        data / "spk2utt",
        "".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())),
    )
    return data


SPK = {"SF1_001": "SF1", "SF1_002": "SF1", "TM1_001": "TM1", "TM1_002": "TM1"}


def test_fix_data_dir(tmp_path):
    data = tmp_path / "data"
    write(data / "wav.scp", "TM1_001 /w/t1.wav\nSF1_002 /w/s2.wav\nSF1_001 /w/s1.wav\nTM1_002 /w/t2.wav\n")
    # TM1_002 has no speaker, so it must go everywhere.
    write(data / "utt2spk", "SF1_002 SF1\nTM1_001 TM1\nSF1_001 SF1\n")
    write(data / "text", "TM1_002 four\nSF1_001 one\nTM1_001 three\nSF1_002 two\n")
    write(data / "spk2utt", "stale junk\n")
    res = run("fix_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert lines(data / "wav.scp") == ["SF1_001 /w/s1.wav", "SF1_002 /w/s2.wav", "TM1_001 /w/t1.wav"]
    assert lines(data / "utt2spk") == ["SF1_001 SF1", "SF1_002 SF1", "TM1_001 TM1"]
    assert lines(data / "text") == ["SF1_001 one", "SF1_002 two", "TM1_001 three"]
    assert lines(data / "spk2utt") == ["SF1 SF1_001 SF1_002", "TM1 TM1_001"]
    assert "1 utterances missing from utt2spk" in res.stderr
    assert "1 removed" in res.stderr
    # No scratch files are left behind.
    assert sorted(p.name for p in data.iterdir()) == ["spk2utt", "text", "utt2spk", "wav.scp"]


def test_fix_data_dir_drops_utterance_missing_from_wav_scp(tmp_path):
    data = tmp_path / "data"
    write(data / "wav.scp", "b /w/b.wav\n")
    write(data / "utt2spk", "b s\na s\n")
    res = run("fix_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert lines(data / "utt2spk") == ["b s"]
    assert lines(data / "spk2utt") == ["s b"]
    assert "missing from wav.scp" in res.stderr


def test_fix_data_dir_output_validates(tmp_path):
    data = tmp_path / "data"
    wav = write(tmp_path / "x.wav", "")
    write(data / "wav.scp", f"u2 {wav}\nu1 {wav}\nu3 {wav}\n")
    write(data / "utt2spk", "u3 B\nu1 A\nu2 A\n")
    assert run("fix_data_dir.sh", "data", cwd=tmp_path).returncode == 0
    res = run("validate_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "data: 3 utterances, 2 speakers"


def test_fix_data_dir_refuses_to_empty_dir(tmp_path):
    data = tmp_path / "data"
    write(data / "wav.scp", "a /w/a.wav\n")
    write(data / "utt2spk", "b s\n")
    res = run("fix_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode != 0
    assert lines(data / "wav.scp") == ["a /w/a.wav"]  # left untouched
    assert not (data / "spk2utt").exists()


def test_validate_data_dir_good(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"{data}: 4 utterances, 2 speakers"


def test_validate_data_dir_ignores_command_lines(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    text = (data / "wav.scp").read_text().replace(
        f"{tmp_path}/wav/TM1_002.wav", "sox /nowhere.flac -t wav - |"
    )
    write(data / "wav.scp", text)
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_validate_data_dir_unsorted(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    rows = lines(data / "utt2spk")
    rows[1], rows[2] = rows[2], rows[1]
    write(data / "utt2spk", "\n".join(rows) + "\n")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "utt2spk" in res.stderr and "sorted" in res.stderr
    assert rows[2] in res.stderr  # the first offending line


def test_validate_data_dir_numeric_keys_use_byte_order(tmp_path):
    # LC_ALL=C puts "10" before "9"; a numeric comparison would call it unsorted.
    data = make_data_dir(tmp_path, ["10", "9"], {"10": "s", "9": "s"})
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_validate_data_dir_duplicate_key(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    rows = lines(data / "wav.scp")
    write(data / "wav.scp", "\n".join([rows[0], rows[0]] + rows[1:]) + "\n")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "wav.scp" in res.stderr and "duplicate" in res.stderr


def test_validate_data_dir_mismatched_utterances(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    write(data / "utt2spk", "".join(lines(data / "utt2spk")[i] + "\n" for i in (0, 1, 2)))
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "wav.scp" in res.stderr and "TM1_002" in res.stderr
    assert "utt2spk" in res.stderr


def test_validate_data_dir_inconsistent_spk2utt(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    write(data / "spk2utt", "SF1 SF1_001 SF1_002 TM1_001\nTM1 TM1_002\n")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "spk2utt" in res.stderr and "TM1_001" in res.stderr


def test_validate_data_dir_missing_wav(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    (tmp_path / "wav/SF1_002.wav").unlink()
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "wav.scp" in res.stderr
    assert "SF1_002.wav" in res.stderr


@pytest.mark.parametrize("name", ["wav.scp", "utt2spk", "spk2utt"])
def test_validate_data_dir_missing_or_empty_file(tmp_path, name):
    data = make_data_dir(tmp_path, SPK, SPK)
    (data / name).unlink()
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert name in res.stderr
    write(data / name, "")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert name in res.stderr


# --------------------------------------------------------------------------
# slurm_job.sh: against a real Slurm cluster (conftest.slurm_cluster)
# --------------------------------------------------------------------------


def test_slurm_job_runs_each_index_as_a_task_with_the_resources_asked(slurm_cluster, tmp_path):
    res = run(
        "slurm_job.sh", "--mem", "300M", "--num_threads", "2", "JOB=1:3", "log/x.JOB.log",
        "echo task JOB array=$SLURM_ARRAY_TASK_ID cpus=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE",
        cwd=tmp_path, env=slurm_cluster,
    )
    assert res.returncode == 0, res.stderr
    for i in (1, 2, 3):
        log = lines(tmp_path / f"log/x.{i}.log")
        assert log[0] == f"# echo task {i} array=$SLURM_ARRAY_TASK_ID cpus=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE"
        assert re.search(rf"^# Started at .* \(Slurm job \d+ task {i} on ", log[1])
        assert f"task {i} array={i} cpus=2 mem=300" in log
        assert log[-1].startswith("# Ended (code 0)")
    # The batch script is kept beside the logs, for a user who wants to resubmit.
    assert (tmp_path / "log/q/x.sh").is_file()


def test_slurm_job_failure_names_the_failed_tasks_logs(slurm_cluster, tmp_path):
    res = run(
        "slurm_job.sh", "JOB=1:3", "exp/log/y.JOB.log", "echo start JOB; test JOB -ne 2",
        cwd=tmp_path, env=slurm_cluster,
    )
    assert res.returncode != 0
    assert "1 / 3 task(s)" in res.stderr and "exp/log/y.2.log" in res.stderr
    assert "y.1.log" not in res.stderr and "y.3.log" not in res.stderr
    for i in (1, 2, 3):  # the other tasks still ran to the end
        assert f"start {i}" in lines(tmp_path / f"exp/log/y.{i}.log")
    assert lines(tmp_path / "exp/log/y.2.log")[-1].startswith("# Ended (code 1)")
    # A single job too.
    res = run("slurm_job.sh", "log/one.log", "exit 3", cwd=tmp_path, env=slurm_cluster)
    assert res.returncode != 0 and "log/one.log" in res.stderr


def test_slurm_job_max_jobs_run_runs_tasks_one_after_another(slurm_cluster, tmp_path):
    res = run(
        "slurm_job.sh", "--max-jobs-run", "1", "JOB=1:3", "log/z.JOB.log",
        "date +%s.%N; sleep 1; date +%s.%N",
        cwd=tmp_path, env=slurm_cluster,
    )
    assert res.returncode == 0, res.stderr
    spans = job_spans(tmp_path / "log", "z", 3)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end  # never two at once


def test_slurm_job_config_rules(slurm_cluster, tmp_path):
    config = write(tmp_path / "conf/slurm.conf", "\n".join([
        "# a comment",
        "command sbatch --export=ALL",
        "option name=* --job-name $0",
        "default mem=123M",
        "option mem=* --mem $0",
        "option num_threads=1",
        "option num_threads=* --cpus-per-task $0",
        "option gpu=0",
        "",
    ]))
    res = run("slurm_job.sh", "--config", config, "log/c.log", "echo mem=$SLURM_MEM_PER_NODE",
              cwd=tmp_path, env=slurm_cluster)
    assert res.returncode == 0, res.stderr
    assert "mem=123" in lines(tmp_path / "log/c.log")  # the default applied
    # An option the config has no rule for is an error naming the config.
    res = run("slurm_job.sh", "--config", config, "--gpu", "2", "log/c.log", "true",
              cwd=tmp_path, env=slurm_cluster)
    assert res.returncode != 0 and "conf/slurm.conf: no rule for gpu=2" in res.stderr
    bad = write(tmp_path / "bad.conf", "command sbatch\nflag x=1 --foo\n")
    res = run("slurm_job.sh", "--config", bad, "log/c.log", "true", cwd=tmp_path, env=slurm_cluster)
    assert res.returncode != 0 and "bad.conf: unknown rule 'flag'" in res.stderr


# --------------------------------------------------------------------------
# TEMPLATE/vc1/setup.sh and the files every recipe shares
# --------------------------------------------------------------------------

TEMPLATE = UTILS.parent
SHARED_FILES = ("cmd.sh", "path.sh", "conf/slurm.conf")


def test_setup_makes_a_recipe_from_the_template(tmp_path):
    egs2 = tmp_path / "repo/egs2"
    shutil.copytree(TEMPLATE, egs2 / "TEMPLATE/vc1", symlinks=True)
    shutil.copytree(TEMPLATE.parents[1] / "vcc2016/vc1/conf", egs2 / "vcc2016/vc1/conf")
    res = subprocess.run(["bash", "TEMPLATE/vc1/setup.sh", "newcorpus/vc1"], cwd=egs2,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    recipe = egs2 / "newcorpus/vc1"
    for name in SHARED_FILES:
        assert (recipe / name).read_bytes() == (TEMPLATE / name).read_bytes(), name
    assert os.readlink(recipe / "vc.sh") == "../../TEMPLATE/vc1/vc.sh"
    example = TEMPLATE.parents[1] / "vcc2016/vc1/conf"
    for name in ("world.yaml", "train_cyclegan_vc.yaml", "train_cyclegan_vc_cpu.yaml", "decode.yaml"):
        copied = recipe / "conf" / name
        assert not copied.is_symlink() and copied.read_bytes() == (example / name).read_bytes(), name
    assert (recipe / "utils/slurm_job.sh").is_file()  # through the utils link
    assert os.access(recipe / "run.sh", os.X_OK) and os.access(recipe / "local/data.sh", os.X_OK)
    res = subprocess.run(["bash", "TEMPLATE/vc1/setup.sh", "newcorpus/vc1"], cwd=egs2,
                         capture_output=True, text=True)
    assert res.returncode != 0 and "already exists" in res.stderr


@pytest.mark.parametrize("recipe", ["mini_vc", "vcc2016"])
def test_recipes_share_the_templates_cmd_path_and_slurm_conf(recipe):
    for name in SHARED_FILES:
        ours = TEMPLATE.parents[1] / recipe / "vc1" / name
        assert ours.read_bytes() == (TEMPLATE / name).read_bytes(), f"{ours} differs from the template's"
