#!/usr/bin/env bash
# Start a one-node SLURM cluster (munged, MariaDB, slurmdbd, slurmctld, slurmd) on this machine, for CI.
#
# Usage:  sudo .ci/slurm/start_cluster.sh          (root; Debian/Ubuntu with apt; no systemd needed)
#         export SLURM_CONF=/var/tmp/genoml-slurm/etc/slurm.conf   (or: source <state dir>/env.sh)
#         .ci/slurm/smoke_test.sh
#         sudo .ci/slurm/stop_cluster.sh
#
# Environment:
#   GENOML_SLURM_DIR      state dir (configs, logs, pids, spool, database); default /var/tmp/genoml-slurm.
#                         Must be traversable by the users slurm and mysql (not a 0700 home).
#   GENOML_SLURM_DB_PORT  TCP port of the private MariaDB on 127.0.0.1; default 13306.
#   GENOML_SLURM_USERS    extra users to register in the accounting database (root and $SUDO_USER always are).
#   GENOML_SLURM_WAIT     seconds to wait for each daemon to become ready; default 60.
#   GENOML_SLURM_MIN_CPUS advertise at least this many CPUs (default 8: a GPU job of the slurm profile
#                         asks for 4, and CI wants a CPU job beside it); 0 keeps what `slurmd -C` measures.
#
# Idempotent: packages already installed are skipped, daemons whose recorded pid is alive are left
# alone, the database and munge key are reused. Facts and traps: /work/shared/SLURM_NOTES.md.
set -Eeuo pipefail

readonly PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
readonly CLUSTER_NAME="genoml"
readonly ACCOUNT_NAME="genoml"
readonly STATE_DIR="${GENOML_SLURM_DIR:-/var/tmp/genoml-slurm}"
readonly DB_PORT="${GENOML_SLURM_DB_PORT:-13306}"
readonly WAIT_S="${GENOML_SLURM_WAIT:-60}"
readonly MIN_CPUS="${GENOML_SLURM_MIN_CPUS:-8}"
readonly ETC_DIR="${STATE_DIR}/etc"
readonly LOG_DIR="${STATE_DIR}/log"
readonly PID_DIR="${STATE_DIR}/pids"
readonly RUN_DIR="${STATE_DIR}/run"
readonly SPOOL_DIR="${STATE_DIR}/spool"
readonly DB_DIR="${STATE_DIR}/mysql"
readonly DB_SOCK="${DB_DIR}/mysqld.sock"
readonly SLURM_CONF_FILE="${ETC_DIR}/slurm.conf"
HOST="$(hostname -s)"
readonly HOST
export SLURM_CONF="${SLURM_CONF_FILE}"
export DEBIAN_FRONTEND=noninteractive

created_policy_rc=0

log() { printf '[start_cluster %s] %s\n' "$(date +%T)" "$*"; }

# The daemons' stdout/stderr (*.out) hold the fatal errors that happen before a log file is opened.
show_log_tails() {
    local f
    for f in munged.out mariadb.log slurmdbd.out slurmctld.out slurmd.out; do
        [[ -s "${LOG_DIR}/${f}" ]] || continue
        printf '\n----- last 15 lines of %s -----\n' "${LOG_DIR}/${f}" >&2
        grep -v 'pmix' "${LOG_DIR}/${f}" | tail -n 15 >&2 || true
    done
}

fail() {
    trap - ERR
    printf '\n[start_cluster] ERROR: %s\n' "$*" >&2
    show_log_tails
    printf '\n[start_cluster] state dir: %s (stop with .ci/slurm/stop_cluster.sh)\n' "${STATE_DIR}" >&2
    exit 1
}

cleanup() {
    if ((created_policy_rc)); then
        rm -f /usr/sbin/policy-rc.d
    fi
}

trap 'fail "command failed (line ${LINENO}): ${BASH_COMMAND}"' ERR
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------- packages

package_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == "installed" ]]
}

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        package_installed "${pkg}" || missing+=("${pkg}")
    done
    if ((${#missing[@]} == 0)); then
        log "packages already installed: ${PACKAGES[*]}"
        return 0
    fi
    command -v apt-get >/dev/null || fail "apt-get not found: install ${missing[*]} yourself"
    # Keep the packages' init scripts from starting daemons: this script starts them itself.
    # A policy-rc.d that is already there (Docker images ship one) is left as it is.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        created_policy_rc=1
    fi
    log "installing ${missing[*]} (apt-get, --no-install-recommends)"
    timeout 300 apt-get update -qq >"${LOG_DIR}/apt.log" 2>&1 ||
        fail "apt-get update failed or took over 300 s (see ${LOG_DIR}/apt.log)"
    timeout 900 apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" \
        >>"${LOG_DIR}/apt.log" 2>&1 ||
        fail "apt-get install ${missing[*]} failed or took over 900 s (see ${LOG_DIR}/apt.log)"
    cleanup
    created_policy_rc=0
}

# ---------------------------------------------------------------------------------------------- daemons

# pid_of NAME: the recorded pid of daemon NAME, or nothing.
pid_of() {
    local file="${PID_DIR}/$1.pid"
    [[ -r "${file}" ]] && tr -dc '0-9' <"${file}"
    return 0
}

# is_running PID COMM: the process exists, is not a zombie, and runs the program COMM
# (so a pid reused by another program after a reboot does not count).
is_running() {
    local pid="$1" comm="$2" state
    [[ -n "${pid}" && -r "/proc/${pid}/stat" ]] || return 1
    state="$(sed -e 's/^.*) //' "/proc/${pid}/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
    [[ "${state}" != "Z" && "${state}" != "X" ]] || return 1
    [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == "${comm}" ]]
}

daemon_running() { is_running "$(pid_of "$1")" "$2"; }

# start_daemon NAME COMM CMD...: run CMD (a daemon kept in the foreground, so that $! is its pid) in
# its own session, detached from this script's stdin/stdout/stderr and from the lock's fd 9.
start_daemon() {
    local name="$1" comm="$2"
    shift 2
    if daemon_running "${name}" "${comm}"; then
        log "${name} already running (pid $(pid_of "${name}"))"
        return 0
    fi
    log "starting ${name}"
    setsid "$@" </dev/null >"${LOG_DIR}/${name}.out" 2>&1 9>&- &
    local pid="$!" deadline=$((SECONDS + 10))
    printf '%s\n' "${pid}" >"${PID_DIR}/${name}.pid"
    # Until setsid (and setpriv) have exec'd, /proc/PID/comm is not yet COMM: wait for it, so that
    # later liveness checks do not mistake the start-up for an exit.
    until is_running "${pid}" "${comm}"; do
        if [[ ! -e "/proc/${pid}" ]] || ((SECONDS >= deadline)); then
            fail "${name} exited at start-up"
        fi
        sleep 0.1
    done
}

# wait_for NAME COMM WHAT CHECK...: poll CHECK until it succeeds, failing early if the daemon died.
wait_for() {
    local name="$1" comm="$2" what="$3" deadline=$((SECONDS + WAIT_S))
    shift 3
    until "$@" >/dev/null 2>&1; do
        daemon_running "${name}" "${comm}" || fail "${name} exited before ${what}"
        ((SECONDS < deadline)) || fail "${name}: no ${what} after ${WAIT_S} s"
        sleep 0.5
    done
}

munge_works() { timeout 5 munge -n </dev/null 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; }

start_munged() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        timeout 30 mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    if ! daemon_running munged munged && munge_works; then
        log "munged: a munged not started by this script already answers; using it"
        return 0
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    [[ -f "${LOG_DIR}/munged.log" ]] || install -o munge -g munge -m 0640 /dev/null "${LOG_DIR}/munged.log"
    start_daemon munged munged setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground --log-file="${LOG_DIR}/munged.log"
    wait_for munged munged "working credential (munge -n | unmunge)" munge_works
}

db_client() { timeout 20 mariadb --no-defaults --socket="${DB_SOCK}" -u root; }

start_mariadb() {
    if [[ ! -d "${DB_DIR}/mysql" ]]; then
        log "initialising MariaDB data dir ${DB_DIR}"
        install -d -o mysql -g mysql -m 0750 "${DB_DIR}"
        timeout 120 mariadb-install-db --no-defaults --user=mysql --datadir="${DB_DIR}" \
            --auth-root-authentication-method=socket --skip-test-db >"${LOG_DIR}/mariadb-install.log" 2>&1 ||
            fail "mariadb-install-db failed (see ${LOG_DIR}/mariadb-install.log)"
    fi
    [[ -f "${LOG_DIR}/mariadb.log" ]] || install -o mysql -g mysql -m 0640 /dev/null "${LOG_DIR}/mariadb.log"
    start_daemon mariadb mariadbd mariadbd --no-defaults --user=mysql --datadir="${DB_DIR}" \
        --socket="${DB_SOCK}" --port="${DB_PORT}" --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file="${DB_DIR}/mariadbd.pid" --log-error="${LOG_DIR}/mariadb.log" \
        --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900
    wait_for mariadb mariadbd "answer on ${DB_SOCK}" timeout 5 mariadb-admin --no-defaults \
        --socket="${DB_SOCK}" -u root ping
    local pass
    pass="$(cat "${ETC_DIR}/db_password")"
    db_client <<SQL || fail "could not create the slurm_acct_db database and user"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '${pass}';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '${pass}';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '${pass}';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '${pass}';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
SQL
}

sacctmgr_q() { timeout 20 sacctmgr -n -P "$@"; }

start_slurmdbd() {
    # slurmdbd has no -f: it reads slurmdbd.conf next to $SLURM_CONF.
    start_daemon slurmdbd slurmdbd slurmdbd -D
    wait_for slurmdbd slurmdbd "answer to sacctmgr" sacctmgr_q list cluster format=cluster
    if ! sacctmgr_q list cluster format=cluster | grep -qx "${CLUSTER_NAME}"; then
        log "registering cluster ${CLUSTER_NAME} in the accounting database"
        timeout 20 sacctmgr -i add cluster "${CLUSTER_NAME}" >/dev/null
    fi
}

node_state() { timeout 10 sinfo -h -N -n "${HOST}" -o '%T' 2>/dev/null | head -n 1; }

wait_node_ready() {
    local deadline=$((SECONDS + WAIT_S)) state="" resumed=0
    while ((SECONDS < deadline)); do
        daemon_running slurmctld slurmctld || fail "slurmctld exited"
        daemon_running slurmd slurmd || fail "slurmd exited"
        state="$(node_state)" || true
        case "${state}" in
            idle | mixed | allocated | completing) return 0 ;;
            drain* | down* | fail*)
                # State saved by an earlier run can keep the node drained; try to resume it once.
                if ((!resumed)); then
                    log "node ${HOST} is ${state}; trying scontrol update State=RESUME"
                    timeout 10 scontrol update NodeName="${HOST}" State=RESUME >/dev/null 2>&1 || true
                    resumed=1
                fi
                ;;
        esac
        sleep 0.5
    done
    fail "node ${HOST} not ready after ${WAIT_S} s (state '${state}'); reasons: $(timeout 10 sinfo -R -h 2>&1 || true)"
}

start_slurm() {
    start_daemon slurmctld slurmctld slurmctld -D -i -f "${SLURM_CONF_FILE}"
    wait_for slurmctld slurmctld "answer to scontrol ping" scontrol_up
    start_daemon slurmd slurmd slurmd -D -N "${HOST}" -f "${SLURM_CONF_FILE}"
    wait_node_ready
}

scontrol_up() { timeout 10 scontrol ping | grep -q 'is UP'; }

register_accounts() {
    local users=(root) user
    [[ -n "${SUDO_USER:-}" ]] && users+=("${SUDO_USER}")
    # shellcheck disable=SC2206  # a space-separated list on purpose
    [[ -n "${GENOML_SLURM_USERS:-}" ]] && users+=(${GENOML_SLURM_USERS})
    if ! sacctmgr_q list account format=account | grep -qx "${ACCOUNT_NAME}"; then
        log "adding account ${ACCOUNT_NAME}"
        timeout 20 sacctmgr -i add account "${ACCOUNT_NAME}" Cluster="${CLUSTER_NAME}" \
            Description="genoml CI" Organization=genoml >/dev/null
    fi
    # slurmdbd creates root (default account "root") itself; other users get genoml as their default.
    for user in "${users[@]}"; do
        if ! sacctmgr_q list assoc user="${user}" account="${ACCOUNT_NAME}" format=user | grep -qx "${user}"; then
            log "adding user ${user} to account ${ACCOUNT_NAME}"
            timeout 20 sacctmgr -i add user "${user}" Account="${ACCOUNT_NAME}" \
                DefaultAccount="${ACCOUNT_NAME}" >/dev/null
        fi
    done
    wait_for slurmdbd slurmdbd "answer to sacct" timeout 10 sacct -n -X -a -S now
}

# ---------------------------------------------------------------------------------------------- config

# write_if_changed FILE: replace FILE with stdin only when the content differs.
write_if_changed() {
    local file="$1" tmp
    tmp="$(mktemp "${file}.XXXXXX")"
    cat >"${tmp}"
    if [[ -f "${file}" ]] && cmp -s "${tmp}" "${file}"; then
        rm -f "${tmp}"
        return 0
    fi
    chmod 0644 "${tmp}"
    mv -f "${tmp}" "${file}"
    if daemon_running slurmctld slurmctld || daemon_running slurmd slurmd; then
        log "WARNING: ${file} changed while SLURM runs; restart with stop_cluster.sh + start_cluster.sh"
    fi
}

make_dirs() {
    install -d -m 0755 "${STATE_DIR}" "${ETC_DIR}" "${LOG_DIR}" "${PID_DIR}"
    install -d -o slurm -g slurm -m 0755 "${RUN_DIR}" "${SPOOL_DIR}"
    install -d -o slurm -g slurm -m 0700 "${SPOOL_DIR}/ctld"
    install -d -m 0755 "${SPOOL_DIR}/d"
    local f
    for f in slurmctld slurmdbd; do
        [[ -f "${LOG_DIR}/${f}.log" ]] || install -o slurm -g slurm -m 0640 /dev/null "${LOG_DIR}/${f}.log"
    done
    # Every directory above the state dir must be traversable by slurm and mysql.
    local d="${STATE_DIR}"
    while [[ "${d}" != "/" && -n "${d}" ]]; do
        (((8#$(stat -c '%a' "${d}") & 1) == 1)) ||
            fail "${d} is not traversable by other users (slurm, mysql); choose GENOML_SLURM_DIR elsewhere"
        d="$(dirname "${d}")"
    done
}

write_configs() {
    local node_line cpus cpus_real mem def_mem slurmd_params
    # The node line must match what slurmd measures, or the node drains ("Node configuration differs").
    node_line="$(timeout 20 slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]* //')"
    [[ "${node_line}" == *CPUs=* && "${node_line}" == *RealMemory=* ]] ||
        fail "unexpected output of slurmd -C: ${node_line}"
    cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"${node_line}")"
    mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"${node_line}")"
    # SLURM rejects at submission a job asking for more CPUs than the node has (the SLURM executor
    # does not scale `threads` down the way --cores does), and the profile asks --cpus-per-gpu=4.
    # On a smaller machine advertise MIN_CPUS cores, so such jobs are accepted and can run side by
    # side; config_overrides makes slurmd accept the configured count instead of draining the node.
    # Jobs then share the real cores (CPU limits are not enforced without cgroups anyway).
    slurmd_params=""
    if ((cpus < MIN_CPUS)); then
        log "advertising ${MIN_CPUS} CPUs (machine has ${cpus}; GENOML_SLURM_MIN_CPUS=0 to disable)"
        cpus_real="${cpus}"
        cpus="${MIN_CPUS}"
        node_line="CPUs=${cpus} Boards=1 SocketsPerBoard=1 CoresPerSocket=${cpus} ThreadsPerCore=1 RealMemory=${mem}"
        slurmd_params="# CPUs raised to GENOML_SLURM_MIN_CPUS=${MIN_CPUS} (slurmd -C: ${cpus_real}); accept it:
SlurmdParameters=config_overrides"
    fi
    # A job without --mem gets DefMemPerCPU per CPU (without it, the whole node's memory).
    def_mem=$((mem / cpus))
    ((def_mem <= 1024)) || def_mem=1024

    if [[ ! -s "${ETC_DIR}/db_password" ]]; then
        (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"${ETC_DIR}/db_password")
    fi

    write_if_changed "${SLURM_CONF_FILE}" <<EOF
# Written by .ci/slurm/start_cluster.sh: a one-node CI cluster. Edits are overwritten.
ClusterName=${CLUSTER_NAME}
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
# No cgroups on this machine: limits are scheduled, not enforced (time limits are).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
StateSaveLocation=${SPOOL_DIR}/ctld
SlurmdSpoolDir=${SPOOL_DIR}/d
SlurmctldPidFile=${RUN_DIR}/slurmctld.pid
SlurmdPidFile=${RUN_DIR}/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# Scheduling: per-core and per-MB, so a job without --mem does not take the whole node.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=${def_mem}
# Fast turnaround for tiny CI jobs.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
# The executor plugin only trusts squeue for job status when MinJobAge >= 120 s.
MinJobAge=300
KillWait=5
# Accounting through slurmdbd (what the plugin's default status command, sacct, needs).
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
# Record the rule name (sbatch --comment) and GPUs (AllocTRES gres/gpu=N) in sacct.
AccountingStoreFlags=job_comment
AccountingStorageTRES=gres/gpu
JobCompType=jobcomp/none
# One fake GPU so that --gpus=1 can be scheduled without a GPU (gres.conf: File=/dev/null).
GresTypes=gpu
${slurmd_params}
NodeName=${HOST} NodeAddr=127.0.0.1 ${node_line} Gres=gpu:fake:1 State=UNKNOWN
PartitionName=norm Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=${HOST} MaxTime=INFINITE State=UP
EOF

    write_if_changed "${ETC_DIR}/gres.conf" <<EOF
# Written by .ci/slurm/start_cluster.sh. Without File= slurmd 22.05 drops the GPU and drains the node.
NodeName=${HOST} Name=gpu Type=fake File=/dev/null
EOF

    # slurmdbd refuses a slurmdbd.conf not owned by SlurmUser or readable by others (it has a password).
    local dbd_tmp
    dbd_tmp="$(mktemp "${ETC_DIR}/slurmdbd.conf.XXXXXX")"
    cat >"${dbd_tmp}" <<EOF
# Written by .ci/slurm/start_cluster.sh. Edits are overwritten.
AuthType=auth/munge
DbdHost=${HOST}
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=slurm
LogFile=${LOG_DIR}/slurmdbd.log
PidFile=${RUN_DIR}/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=${DB_PORT}
StorageUser=slurm
StoragePass=$(cat "${ETC_DIR}/db_password")
StorageLoc=slurm_acct_db
EOF
    chown slurm:slurm "${dbd_tmp}"
    chmod 0600 "${dbd_tmp}"
    mv -f "${dbd_tmp}" "${ETC_DIR}/slurmdbd.conf"

    printf 'export SLURM_CONF=%q\n' "${SLURM_CONF_FILE}" >"${STATE_DIR}/env.sh"
}

# Clients (sinfo, sbatch, and the plugin's scontrol/sacct calls) read /etc/slurm/slurm.conf unless
# SLURM_CONF is set. Link it there when nothing else is, so that a plain shell works too.
link_client_config() {
    local target=/etc/slurm/slurm.conf
    if [[ -L "${target}" && "$(readlink "${target}")" == "${SLURM_CONF_FILE}" ]]; then
        return 0
    fi
    if [[ -e "${target}" || -L "${target}" ]]; then
        log "NOTE: ${target} exists and is not ours; clients need: export SLURM_CONF=${SLURM_CONF_FILE}"
        return 0
    fi
    install -d -m 0755 /etc/slurm
    ln -s "${SLURM_CONF_FILE}" "${target}"
    log "linked ${target} -> ${SLURM_CONF_FILE}"
}

main() {
    ((EUID == 0)) || fail "run as root (e.g. sudo -E $0): it installs packages and starts daemons"
    # Create the log dir early: install_packages logs there.
    install -d -m 0755 "${STATE_DIR}" "${STATE_DIR}/log"
    # One start at a time: a second concurrent call waits here, then finds everything running.
    exec 9>"${STATE_DIR}/.lock"
    flock -w 900 9 || fail "another start_cluster.sh holds ${STATE_DIR}/.lock"

    install_packages
    make_dirs
    write_configs
    link_client_config
    start_munged
    start_mariadb
    start_slurmdbd
    start_slurm
    register_accounts
    log "cluster ${CLUSTER_NAME} ready in ${SECONDS} s: $(timeout 10 sinfo -h -o '%P %a %D %T' | tr '\n' ';')"
    log "pids: $(for n in munged mariadb slurmdbd slurmctld slurmd; do printf '%s=%s ' "${n}" "$(pid_of "${n}")"; done)"
    log "clients: export SLURM_CONF=${SLURM_CONF_FILE}   (or: source ${STATE_DIR}/env.sh)"
}

main "$@"
