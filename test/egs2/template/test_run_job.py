"""Tests of egs2/TEMPLATE/vc1/utils/run_job.sh (the local backend).

Each script is run through bash in a temporary directory, and the tests check
what the scripts write (files, logs, stdout/stderr), not only exit codes.
"""

import pytest

from helpers.template import assert_executable_bash, job_spans, lines, run


@pytest.mark.parametrize("script", ["run_job.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


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
