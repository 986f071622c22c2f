"""Tests of egs2/TEMPLATE/vc1/utils/slurm_job.sh (the Slurm backend), against a real
Slurm cluster (the slurm_cluster fixture, test/helpers/slurm.py).

Each script is run through bash in a temporary directory, and the tests check
what the scripts write (files, logs, stdout/stderr), not only exit codes.
"""

import re

import pytest

from helpers.template import assert_executable_bash, job_spans, lines, run, write


@pytest.mark.parametrize("script", ["slurm_job.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


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
