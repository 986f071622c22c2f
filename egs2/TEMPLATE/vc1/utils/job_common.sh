# Sourced by run_job.sh and slurm_job.sh: the command-line interface they
# share, so that a recipe's $train_cmd/$decode_cmd can be either.
#
#   [--gpu N] [--mem X] [--num_threads N] [--max-jobs-run N] [--config FILE]
#   [JOB=A:B] LOGFILE COMMAND [ARGS...]
#
# Sets: gpu mem num_threads max_jobs config var first last log_template
# cmd_args; defines die, build_cmd, run_one. $prog must be set first.

usage="Usage: $prog [--gpu N] [--mem X] [--num_threads N] [--max-jobs-run N] [--config FILE] [JOB=1:N] LOGFILE COMMAND [ARGS...]"
die() { echo "$prog: $*" >&2; exit 1; }

gpu=0 mem="" num_threads=1 config=""
max_jobs=${RUN_JOB_MAX_PARALLEL:-0}
while [ $# -gt 0 ]; do
    case "$1" in
        --*=*) opt=${1%%=*}; val=${1#*=}; shift ;;
        --*) [ $# -ge 2 ] || die "option $1 needs a value"; opt=$1; val=$2; shift 2 ;;
        *) break ;;
    esac
    case "${opt//-/_}" in
        __gpu) gpu=$val ;;
        __mem) mem=$val ;;
        __num_threads) num_threads=$val ;;
        __max_jobs_run) max_jobs=$val ;;
        __config) config=$val ;;
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
cmd_args=("$@")

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

# Runs one job: $1 = log file, $2 = shell command. Returns the command's code,
# which the log's last line also records ("# Ended (code N) ...").
run_one() {
    local log=$1 cmd=$2 start elapsed rc=0
    mkdir -p "$(dirname "$log")"
    start=$(date +%s)
    {
        echo "# $cmd"
        echo "# Started at $(date)${SLURM_JOB_ID:+ (Slurm job ${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID}}${SLURM_ARRAY_TASK_ID:+ task ${SLURM_ARRAY_TASK_ID}} on $(hostname))}"
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
