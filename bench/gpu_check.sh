#!/usr/bin/env bash
# GPU check of CycleGAN-VC training: updates/s at the paper's widths through vc_train
# and the model's own step (float32, bfloat16 autocast, + torch.compile), then the
# paper configuration trained for the rest of the budget, its model converting and
# scoring the SF1/TM3 evaluation sentences. Prints a table and
# writes <outdir>/gpu_check.json (default bench/results/gpu_check/).
#
#   bash bench/gpu_check.sh [--tiny] [--outdir DIR] [--vcc2016 DIR] [--budget_s 540]
#
# Without CUDA it runs --tiny (tiny widths on the CPU, for CI). The whole run is
# stopped after GPU_CHECK_LIMIT_S seconds (default 570, 9.5 minutes); --budget_s
# must stay below it. Python: $PYTHON, else the repository's .venv, else python3.
# Other options: python bench/gpu_check.py --help
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-}
if [ -z "${python}" ]; then
    python=python3
    [ -x "${root}/.venv/bin/python" ] && python=${root}/.venv/bin/python
fi
export PYTHONPATH=${root}${PYTHONPATH:+:${PYTHONPATH}}
export PYTHONUNBUFFERED=1
exec timeout --kill-after=10 "${GPU_CHECK_LIMIT_S:-570}" \
    "${python}" "${root}/bench/gpu_check.py" "$@"
