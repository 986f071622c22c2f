"""Tests of egs2/TEMPLATE/vc1/utils/parse_options.sh, sourced by a caller script."""

import subprocess

import pytest

from helpers.template import UTILS, assert_executable_bash, write


@pytest.mark.parametrize("script", ["parse_options.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


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
