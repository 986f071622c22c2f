#!/usr/bin/env bash
# Starts (or stops) a one-node Slurm cluster on this machine: munged, slurmctld
# and slurmd on localhost, all state under one directory. It is what the Slurm
# tests and .ci/run use; it also lets a user try cmd_backend=slurm without a
# cluster. Needs root and Debian's slurm-wlm and munge packages
# (apt-get install slurm-wlm munge).
#
# Usage: tools/slurm_localhost.sh start|stop|status [DIR]
#   DIR (default /tmp/slurm_localhost) holds slurm.conf, pid, log and state
#   files. After "start", point the client commands at the cluster with
#   export SLURM_CONF=DIR/slurm.conf
set -euo pipefail

action=${1:-}
dir=${2:-/tmp/slurm_localhost}
die() { echo "slurm_localhost.sh: $*" >&2; exit 1; }

stop_daemon() {  # $1 = pid file
    local pid
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if kill "${pid}" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
        kill -9 "${pid}" 2>/dev/null || true
    fi
    rm -f "$1"
}

case "${action}" in
start)
    for prog in munged munge unmunge slurmctld slurmd sinfo; do
        command -v "${prog}" >/dev/null || die "${prog} not found: apt-get install slurm-wlm munge"
    done
    [ "$(id -u)" -eq 0 ] || die "must run as root (the daemons run as root here)"
    mkdir -p "${dir}/state" "${dir}/spool" "${dir}/munge"
    chmod 755 "${dir}"  # munged (the munge user) writes its log below it
    chown munge: "${dir}/munge"
    # One munged serves the machine: use a running one, else start ours.
    if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        [ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing (reinstall munge)"
        # munged drops to the munge user itself; its socket goes where the
        # Slurm daemons and clients look for it (the default path).
        mkdir -p /run/munge && chown munge: /run/munge
        runuser -u munge -- munged --pid-file "${dir}/munge/munged.pid" \
            --log-file "${dir}/munge/munged.log" --seed-file "${dir}/munge/munged.seed"
        cp "${dir}/munge/munged.pid" "${dir}/munged.pid"
    fi
    host=$(hostname -s)
    cpus=$(nproc)
    mem_mb=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 * 9 / 10 ))
    cat > "${dir}/slurm.conf" <<CONF
# Written by tools/slurm_localhost.sh: a one-node cluster on ${host}.
ClusterName=localhost
SlurmctldHost=${host}(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/slurmctld.log
SlurmdLogFile=${dir}/slurmd.log
# No database: finished jobs are written to a text file, read by "sacct -c".
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${dir}/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    stop_daemon "${dir}/slurmctld.pid"
    stop_daemon "${dir}/slurmd.pid"
    slurmctld -f "${dir}/slurm.conf" -i
    slurmd -f "${dir}/slurm.conf"
    export SLURM_CONF=${dir}/slurm.conf
    for _ in $(seq 60); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            echo "slurm_localhost.sh: cluster up (${cpus} CPUs, ${mem_mb} MB); export SLURM_CONF=${dir}/slurm.conf"
            exit 0
        fi
        sleep 0.5
    done
    die "the node did not come up in 30 s; see ${dir}/slurmctld.log and ${dir}/slurmd.log"
    ;;
stop)
    stop_daemon "${dir}/slurmd.pid"
    stop_daemon "${dir}/slurmctld.pid"
    stop_daemon "${dir}/munged.pid"  # only if this script started it
    echo "slurm_localhost.sh: stopped"
    ;;
status)
    SLURM_CONF=${dir}/slurm.conf sinfo -N
    ;;
*)
    die "usage: $0 start|stop|status [DIR]"
    ;;
esac
