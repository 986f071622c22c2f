#!/usr/bin/env bash
# Usage: utils/run_job.sh [--gpu N] [--mem X] [--num_threads N] [--max-jobs-run N]
#                         [JOB=1:N] LOGFILE COMMAND [ARGS...]
#
# Local stand-in for a cluster job launcher (the "$cmd" of a recipe).
# Runs COMMAND once, or with JOB=A:B once per index (in parallel), sending
# stdout+stderr of each run to its own LOGFILE.  With JOB=..., every literal
# occurrence of the variable name ("JOB" or whatever precedes "=") in LOGFILE
# and in each argument is replaced by the job index.
# The command line is executed by "bash -c", so a pipeline can be given as
# one quoted argument, or as separate words with an escaped "\|".  Arguments
# containing whitespace are re-quoted unless the command is a single argument.
# --gpu/--mem/--num_threads only matter on a cluster and are ignored here, so
# recipes written for a grid engine run unchanged.  Parallelism is unbounded
# unless --max-jobs-run or the environment variable RUN_JOB_MAX_PARALLEL is set.
# Exits 0 only if every job succeeded.
set -euo pipefail

prog=$(basename "$0")
usage="Usage: $prog [--gpu N] [--mem X] [--num_threads N] [--max-jobs-run N] [JOB=1:N] LOGFILE COMMAND [ARGS...]"
die() { echo "$prog: $*" >&2; exit 1; }

num_threads=1
max_jobs=${RUN_JOB_MAX_PARALLEL:-0}
while [ $# -gt 0 ]; do
    case "$1" in
        --*=*) opt=${1%%=*}; val=${1#*=}; shift ;;
        --*) [ $# -ge 2 ] || die "option $1 needs a value"; opt=$1; val=$2; shift 2 ;;
        *) break ;;
    esac
    case "${opt//-/_}" in
        __num_threads) num_threads=$val ;;
        __max_jobs_run) max_jobs=$val ;;
        __gpu | __mem | __config) ;;  # cluster-only settings
        *) die "unknown option $opt" ;;
    esac
done

var="" first=1 last=1
if [[ $# -gt 0 && "$1" =~ ^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+)(:([0-9]+))?$ ]]; then
    var=${BASH_REMATCH[1]}
    first=$((10#${BASH_REMATCH[2]}))
    last=$((10#${BASH_REMATCH[4]:-${BASH_REMATCH[2]}}))
    [ "$first" -le "$last" ] || die "empty job range in '$1'"
    shift
fi
[ $# -ge 2 ] || die "$usage"
log_template=$1
shift
if [ -n "$var" ] && [ "$last" -gt "$first" ] && [[ "$log_template" != *"$var"* ]]; then
    # Otherwise all jobs would overwrite the same log.
    die "log file '$log_template' must contain '$var' when running several jobs"
fi

# Runs one job: $1 = log file, $2 = shell command.  Returns the command's code.
run_one() {
    local log=$1 cmd=$2 start elapsed rc=0
    mkdir -p "$(dirname "$log")"
    start=$(date +%s)
    {
        echo "# $cmd"
        echo "# Started at $(date)"
        echo "#"
    } >"$log"
    bash -c "$cmd" >>"$log" 2>&1 </dev/null || rc=$?
    elapsed=$(($(date +%s) - start))
    {
        echo "# Accounting: time=$elapsed s threads=$num_threads"
        echo "# Ended (code $rc) at $(date), elapsed time $elapsed seconds"
    } >>"$log"
    return "$rc"
}

# Builds the command string for job index $1 (empty when not an array job).
build_cmd() {
    local idx=$1 arg out=""
    for arg in "${cmd_args[@]}"; do
        [ -n "$var" ] && arg=${arg//"$var"/$idx}
        if [ "${#cmd_args[@]}" -gt 1 ] && [[ "$arg" =~ [[:space:]] ]]; then
            arg=$(printf '%q' "$arg")
        fi
        out+="${out:+ }$arg"
    done
    printf '%s' "$out"
}
cmd_args=("$@")

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
