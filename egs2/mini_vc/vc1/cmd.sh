# How jobs are run. "local" runs them on this machine through
# utils/run_job.sh (JOB=1:N arrays, one log per job, non-zero exit when any
# job fails). Its --gpu/--mem options are accepted and ignored, so the same
# commands can be handed to a cluster wrapper with the same interface.
cmd_backend=${cmd_backend:-local}

if [ "${cmd_backend}" = local ]; then
    export train_cmd="utils/run_job.sh"
    export cuda_cmd="utils/run_job.sh"
    export decode_cmd="utils/run_job.sh"
else
    echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (only 'local' is provided)" >&2
    return 1 2>/dev/null || exit 1
fi
