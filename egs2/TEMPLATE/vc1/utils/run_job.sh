#!/usr/bin/env bash
# Usage: utils/run_job.sh [--gpu N] [--mem X] [--num_threads N] [--max-jobs-run N]
#                         [--config FILE] [JOB=1:N] LOGFILE COMMAND [ARGS...]
#
# Local stand-in for a cluster job launcher (the "$cmd" of a recipe).
# Runs COMMAND once, or with JOB=A:B once per index (in parallel), sending
# stdout+stderr of each run to its own LOGFILE.  With JOB=..., every literal
# occurrence of the variable name ("JOB" or whatever precedes "=") in LOGFILE
# and in each argument is replaced by the job index.
# The command line is executed by "bash -c", so a pipeline can be given as
# one quoted argument, or as separate words with an escaped "\|".  Arguments
# containing whitespace are re-quoted unless the command is a single argument.
# --gpu/--mem/--num_threads/--config only matter on a cluster (slurm_job.sh)
# and are ignored here, so the same recipe commands run on either.
# Parallelism is unbounded unless --max-jobs-run or the environment variable
# RUN_JOB_MAX_PARALLEL is set.
# Exits 0 only if every job succeeded.
set -euo pipefail

prog=$(basename "$0")
# shellcheck source=job_common.sh
. "$(dirname "$0")/job_common.sh"

if [ -z "$var" ]; then
    rc=0
    run_one "$log_template" "$(build_cmd "")" || rc=$?
    [ "$rc" -eq 0 ] || echo "$prog: command failed (code $rc), see $log_template" >&2
    exit "$rc"
fi

# Each job records its exit code in a file, because with throttling ("wait -n")
# bash may already have reaped a job before we could "wait" for its status.
status_dir=$(mktemp -d)
trap 'rm -rf "$status_dir"' EXIT
trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
for ((i = first; i <= last; i++)); do
    if [ "$max_jobs" -gt 0 ]; then
        while [ "$(jobs -pr | wc -l)" -ge "$max_jobs" ]; do wait -n || true; done
    fi
    (
        rc=0
        run_one "${log_template//"$var"/$i}" "$(build_cmd "$i")" || rc=$?
        echo "$rc" >"$status_dir/$i"
    ) &
done
wait || true

failed=()
for ((i = first; i <= last; i++)); do
    [ "$(cat "$status_dir/$i" 2>/dev/null || echo missing)" = 0 ] || failed+=("${log_template//"$var"/$i}")
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "$prog: ${#failed[@]} / $((last - first + 1)) jobs failed, see ${failed[*]}" >&2
    exit 1
fi
