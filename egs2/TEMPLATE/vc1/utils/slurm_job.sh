#!/usr/bin/env bash
# Usage: utils/slurm_job.sh [--gpu N] [--mem X] [--num_threads N] [--max-jobs-run N]
#                           [--config FILE] [JOB=1:N] LOGFILE COMMAND [ARGS...]
#
# The Slurm backend of a recipe's $train_cmd/$decode_cmd: the same interface
# and logs as utils/run_job.sh, but each job runs as a task of one
# "sbatch --array" job. It waits until every task has ended, and exits 0
# only if every task's command exited 0; otherwise it names the failed
# tasks' logs. Ctrl-C cancels the Slurm job.
#
# --config FILE maps the options to sbatch arguments, one rule per line:
#   command sbatch --export=ALL         the submit command and its fixed arguments
#   option gpu=0                        exactly this value: these arguments (here none)
#   option gpu=* --gres=gpu:$0          any other value: these, with $0 the value
#   default mem=2G                      the value when the option is not given
# Keys: gpu, mem, num_threads, name (the job name: the log file's name).
# Every job has a gpu (0 unless --gpu) and num_threads (1 unless
# --num_threads) value, so a config needs rules that match gpu=0 and
# num_threads=1 (an "option gpu=0" line with no arguments will do); a value
# that no rule matches is an error that names the config.
# Without --config the rules are those of DEFAULT_CONFIG below.
# The batch script and Slurm's own output (for tasks that never started)
# are kept in a q/ directory beside the logs.
set -euo pipefail

prog=$(basename "$0")
# shellcheck source=job_common.sh
. "$(dirname "$0")/job_common.sh"

DEFAULT_CONFIG='command sbatch --export=ALL
option name=* --job-name $0
option mem=* --mem $0
option num_threads=* --cpus-per-task $0
option gpu=0
option gpu=* --gres=gpu:$0'

if [ -n "$config" ]; then
    [ -f "$config" ] || die "--config $config: no such file"
    rules=$(cat "$config")
else
    rules=$DEFAULT_CONFIG
fi

# ------------------------------------------------ options -> sbatch arguments
submit=()
declare -A exact_rule wildcard_rule default_value
while read -r kind rest; do
    case "$kind" in
        "" | \#*) continue ;;
        command) read -r -a submit <<<"$rest" ;;
        option | default)
            rest=${rest%%#*}
            keyval=${rest%% *}
            [[ "$keyval" == *=* ]] || die "${config:-default config}: bad line '$kind $rest'"
            args=""; [[ "$rest" == *" "* ]] && args=${rest#* }
            key=${keyval%%=*}; value=${keyval#*=}
            if [ "$kind" = default ]; then default_value[$key]=$value
            elif [ "$value" = "*" ]; then wildcard_rule[$key]=$args
            else exact_rule[$key=$value]=$args
            fi ;;
        *) die "${config:-default config}: unknown rule '$kind' (command, option or default)" ;;
    esac
done <<<"$rules"
[ "${#submit[@]}" -gt 0 ] || die "${config:-default config}: no 'command' line"

# Appends the sbatch arguments of option $1 with value $2 (empty: not given).
sbatch_args=()
apply() {
    local key=$1 value=$2 args
    [ -n "$value" ] || value=${default_value[$key]:-}
    [ -n "$value" ] || return 0
    if [ -n "${exact_rule[$key=$value]+set}" ]; then
        args=${exact_rule[$key=$value]}
    elif [ -n "${wildcard_rule[$key]+set}" ]; then
        args=${wildcard_rule[$key]//\$0/$value}
    else
        die "${config:-default config}: no rule for $key=$value"
    fi
    local words; read -r -a words <<<"$args"
    sbatch_args+=("${words[@]}")
}
name=$(basename "${log_template//"$var"/}" .log); name=${name%.}
apply name "$name"
apply gpu "$gpu"
apply mem "$mem"
apply num_threads "$num_threads"

# ------------------------------------------------------------ the batch script
first_log=${log_template//"$var"/$first}
qdir=$(dirname "$first_log")/q
mkdir -p "$qdir"
script=$qdir/$name.sh
{
    echo "#!/usr/bin/env bash"
    echo "# Written by $prog; one task per job index."
    echo "num_threads=$num_threads"
    declare -f run_one
    if [ -z "$var" ]; then
        printf 'run_one %q %q\n' "$log_template" "$(build_cmd "")"
    else
        echo 'case "${SLURM_ARRAY_TASK_ID}" in'
        for ((i = first; i <= last; i++)); do
            printf '    %d) run_one %q %q ;;\n' "$i" "${log_template//"$var"/$i}" "$(build_cmd "$i")"
        done
        echo '    *) echo "no job index ${SLURM_ARRAY_TASK_ID}" >&2; exit 1 ;;'
        echo 'esac'
    fi
} >"$script"

if [ -n "$var" ]; then
    throttle=""; [ "$max_jobs" -gt 0 ] && throttle=%$max_jobs
    sbatch_args+=("--array=$first-$last$throttle")
    sbatch_args+=(--output "$qdir/$name.%a.slurm.out")
else
    sbatch_args+=(--output "$qdir/$name.slurm.out")
fi

# Old logs must not pass for the new run's if a task never starts.
for ((i = first; i <= last; i++)); do rm -f "${log_template//"$var"/$i}"; done

# --------------------------------------------------------- submit and wait
jobid=""
cancel() {
    [ -z "$jobid" ] || scancel "$jobid" 2>/dev/null || true
    exit 130
}
trap cancel INT TERM
out=$("${submit[@]}" "${sbatch_args[@]}" --parsable "$script" 2>&1) \
    || die "submission failed: ${submit[*]} ${sbatch_args[*]} $script: $out"
jobid=${out##*$'\n'}; jobid=${jobid%%;*}
[[ "$jobid" =~ ^[0-9]+$ ]] || die "submission did not return a job id: $out"
echo "$jobid" >"$qdir/$name.jobid"
# Polled every second ("sbatch --wait" polls ever more slowly, up to 30 s late).
# A job that left the queue is finished; squeue forgets it after MinJobAge.
while :; do
    if ! state=$(squeue -h -j "$jobid" -o %T 2>&1); then
        [[ "$state" == *"Invalid job id"* ]] && break
        sleep 5; continue  # the controller is busy; ask again
    fi
    [ -n "$state" ] || break
    sleep 1
done

failed=()
for ((i = first; i <= last; i++)); do
    log=${log_template//"$var"/$i}
    tail -n 1 "$log" 2>/dev/null | grep -q '^# Ended (code 0)' || failed+=("$log")
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "$prog: ${#failed[@]} / $((last - first + 1)) task(s) of Slurm job $jobid failed, see ${failed[*]}" \
        "(a task that never started leaves its reason in $qdir/)" >&2
    exit 1
fi
