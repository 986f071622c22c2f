"""The ``slurm_cluster`` fixture: a running Slurm cluster for the tests of the Slurm backend.

test/conftest.py imports the fixture, so every test can ask for it by name.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _unavailable(message):
    """Skip, except where the service must be there (CI, or REQUIRE_SLURM=1)."""
    if os.environ.get("CI") or os.environ.get("REQUIRE_SLURM"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """Environment of a running Slurm cluster for the client commands.

    The one SLURM_CONF names when it answers, else a one-node cluster on this
    machine started by tools/slurm_localhost.sh (root, Debian's slurm-wlm and
    munge) and stopped at the end of the session.
    """
    if os.environ.get("SLURM_CONF") and shutil.which("sinfo"):
        if subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0:
            yield {"SLURM_CONF": os.environ["SLURM_CONF"]}
            return
    missing = [p for p in ("slurmctld", "slurmd", "munged", "sbatch", "sacct") if not shutil.which(p)]
    if missing:
        _unavailable(f"Slurm not installed ({', '.join(missing)} missing): apt-get install "
                     "slurm-wlm munge (.ci/run installs them)")
    if os.geteuid() != 0:
        _unavailable("tools/slurm_localhost.sh starts the Slurm daemons as root")
    # A short path: Slurm keeps its state and logs there.
    state = Path(tempfile.mkdtemp(prefix="slurm_", dir="/tmp"))
    script = REPO_ROOT / "tools/slurm_localhost.sh"
    start = subprocess.run(["bash", script, "start", state], capture_output=True, text=True, timeout=120)
    try:
        if start.returncode != 0:
            logs = "".join(p.read_text()[-2000:] for p in sorted(state.glob("slurm*.log")))
            pytest.fail(f"the Slurm cluster did not start:\n{start.stdout}{start.stderr}\n{logs}")
        yield {"SLURM_CONF": str(state / "slurm.conf")}
    finally:
        subprocess.run(["bash", script, "stop", state], capture_output=True, timeout=60)
