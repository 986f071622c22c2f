"""Running the shell helpers of egs2/TEMPLATE/vc1 in the tests of test/egs2/template/."""

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "egs2/TEMPLATE/vc1"
UTILS = TEMPLATE / "utils"


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


def assert_executable_bash(script):
    """utils/<script> is executable and starts with the bash shebang."""
    path = UTILS / script
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/usr/bin/env bash\n")


def job_spans(logdir, name, n):
    """(start, end) of each job that logged two `date +%s.%N` lines, in start order."""
    return sorted(tuple(float(x) for x in lines(logdir / f"{name}.{i}.log")[3:5]) for i in range(1, n + 1))
