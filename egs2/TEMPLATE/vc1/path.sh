# Environment of the recipe: the repository's .venv/ when it exists (made by
# `make install` at the repository root), else the Python already on PATH
# (e.g. your own ESPnet environment with `pip install -e <this repository>`).
_repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ -f "${_repo_root}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${_repo_root}/.venv/bin/activate"
fi
unset _repo_root
export LC_ALL=C
export PYTHONIOENCODING=UTF-8
export PYTHONUNBUFFERED=1
# Give each parallel job one BLAS thread; jobs are already parallel.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
