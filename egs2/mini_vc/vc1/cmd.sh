# How the recipe's jobs run: cmd_backend=local (the default) or slurm, e.g.
#   cmd_backend=slurm ./run.sh
# Both take the same arguments ([--gpu N] [--mem X] [--num_threads N]
# [JOB=1:N] LOGFILE COMMAND), write one log per job and fail when any job
# fails, so the stages do not depend on the backend.
#   local: utils/run_job.sh, every job on this machine;
#   slurm: utils/slurm_job.sh, every job a task of an "sbatch --array" job;
#          conf/slurm.conf says how the options become sbatch arguments
#          (partition, memory, GPUs).
cmd_backend=${cmd_backend:-local}

case "${cmd_backend}" in
    local)
        export train_cmd="utils/run_job.sh"
        export cuda_cmd="utils/run_job.sh"
        export decode_cmd="utils/run_job.sh"
        ;;
    slurm)
        export train_cmd="utils/slurm_job.sh --config conf/slurm.conf"
        export cuda_cmd="utils/slurm_job.sh --config conf/slurm.conf"
        export decode_cmd="utils/slurm_job.sh --config conf/slurm.conf"
        ;;
    *)
        echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local or slurm)" >&2
        return 1 2>/dev/null || exit 1
        ;;
esac
