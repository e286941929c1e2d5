#!/usr/bin/env bash
# Stop the one-node CI cluster started by .ci/slurm/start_cluster.sh.
#
# Usage:  sudo .ci/slurm/stop_cluster.sh        (GENOML_SLURM_DIR as for start_cluster.sh)
#
# Stops exactly the pids that start_cluster.sh recorded in <state dir>/pids (slurmd, slurmctld,
# slurmdbd, mariadb, munged, in that order), checking that each pid still runs the expected program,
# and waits for each to exit (SIGTERM, then SIGKILL after GENOML_SLURM_STOP_WAIT seconds, default 30).
# Never kills by name. The state dir (configs, logs, database) is kept, so a restart is fast; delete it
# yourself for a clean slate. Exits non-zero if a daemon could not be stopped.
set -Eeuo pipefail

readonly STATE_DIR="${GENOML_SLURM_DIR:-/var/tmp/genoml-slurm}"
readonly PID_DIR="${STATE_DIR}/pids"
readonly WAIT_S="${GENOML_SLURM_STOP_WAIT:-30}"
# name:program, in stop order (clients of a daemon first).
readonly DAEMONS=(slurmd:slurmd slurmctld:slurmctld slurmdbd:slurmdbd mariadb:mariadbd munged:munged)

log() { printf '[stop_cluster %s] %s\n' "$(date +%T)" "$*"; }
err() { printf '[stop_cluster] ERROR: %s\n' "$*" >&2; }

trap 'err "command failed (line ${LINENO}): ${BASH_COMMAND}"' ERR

# is_running PID COMM: alive, not a zombie, and running program COMM (guards against pid reuse).
is_running() {
    local pid="$1" comm="$2" state
    [[ -n "${pid}" && -r "/proc/${pid}/stat" ]] || return 1
    state="$(sed -e 's/^.*) //' "/proc/${pid}/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
    [[ "${state}" != "Z" && "${state}" != "X" ]] || return 1
    [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == "${comm}" ]]
}

# wait_gone PID COMM SECONDS: 0 once the process has exited.
wait_gone() {
    local pid="$1" comm="$2" deadline=$((SECONDS + $3))
    while is_running "${pid}" "${comm}"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# stop_one NAME COMM: 0 when the recorded daemon is not running (any more).
stop_one() {
    local name="$1" comm="$2" file pid
    file="${PID_DIR}/${name}.pid"
    if [[ ! -f "${file}" ]]; then
        log "${name}: no pid recorded"
        return 0
    fi
    pid="$(tr -dc '0-9' <"${file}")"
    if ! is_running "${pid}" "${comm}"; then
        log "${name}: pid ${pid:-?} not running"
        rm -f "${file}"
        return 0
    fi
    log "${name}: stopping pid ${pid}"
    kill -TERM "${pid}" 2>/dev/null || true
    if ! wait_gone "${pid}" "${comm}" "${WAIT_S}"; then
        log "${name}: pid ${pid} still running after ${WAIT_S} s; sending SIGKILL"
        kill -KILL "${pid}" 2>/dev/null || true
        if ! wait_gone "${pid}" "${comm}" 10; then
            err "${name}: pid ${pid} survived SIGKILL"
            return 1
        fi
    fi
    rm -f "${file}"
}

main() {
    ((EUID == 0)) || { err "run as root (e.g. sudo -E $0): the daemons run as root, slurm, mysql, munge"; exit 1; }
    if [[ ! -d "${PID_DIR}" ]]; then
        log "nothing to stop: ${PID_DIR} does not exist"
        return 0
    fi
    local entry failed=0
    for entry in "${DAEMONS[@]}"; do
        stop_one "${entry%%:*}" "${entry#*:}" || failed=1
    done
    if ((failed)); then
        err "some daemons could not be stopped (see above)"
        exit 1
    fi
    log "all recorded daemons stopped in ${SECONDS} s (state kept in ${STATE_DIR})"
}

main "$@"
