#!/usr/bin/env bash
# Prove that the SLURM profile works end to end on a running cluster (e.g. .ci/slurm/start_cluster.sh):
# a throwaway Snakemake workflow (3 SLURM jobs + local rule all) in a temp dir, run with
#   snakemake --profile profiles/slurm --profile profiles/ci-local [ARGS...]
# then checks that every job went through sbatch, finished COMPLETED in sacct, that the GPU rule
# (named train_net, so the profile's set-resources apply) ran on partition gpu with one GPU, and
# that the CPU rules ran on partition norm with --cpus-per-task = threads.
#
# Usage:  export PATH=/work/main/.venv/bin:$PATH      # snakemake 9 + snakemake-executor-plugin-slurm
#         .ci/slurm/smoke_test.sh [extra snakemake args, e.g. --profile profiles/slurm-noacct]
# Environment:
#   SLURM_CONF            defaults to <GENOML_SLURM_DIR or /var/tmp/genoml-slurm>/etc/slurm.conf if present
#   GENOML_SMOKE_TIMEOUT  seconds before snakemake gets SIGINT (it then scancels its jobs); default 300
#   GENOML_SMOKE_KEEP=1   keep the temp dir (it is always kept when the test fails)
# Temporary scaffolding until the real workflow runs through SLURM in CI.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly REPO
readonly SMOKE_TIMEOUT="${GENOML_SMOKE_TIMEOUT:-300}"
readonly STATE_DIR="${GENOML_SLURM_DIR:-/var/tmp/genoml-slurm}"
WORK_DIR=""
ok=0

log() { printf '[smoke_test %s] %s\n' "$(date +%T)" "$*"; }

fail() {
    trap - ERR
    printf '[smoke_test] FAILED: %s\n' "$*" >&2
    if [[ -n "${WORK_DIR}" ]]; then
        cancel_leftover_jobs
        printf '[smoke_test] workflow, logs and SLURM job logs kept in %s\n' "${WORK_DIR}" >&2
    fi
    exit 1
}

# Snakemake scancels its jobs on SIGINT; if it could not (killed), cancel them by their job name,
# which the plugin sets to the run's "SLURM run ID".
cancel_leftover_jobs() {
    local run_id
    run_id="$(sed -n 's/^SLURM run ID: \([0-9a-f-]*\).*/\1/p' "${WORK_DIR}/snakemake.out" 2>/dev/null | head -n 1)"
    [[ -n "${run_id}" ]] || return 0
    if [[ -n "$(timeout 20 squeue -h -n "${run_id}" -o '%i' 2>/dev/null)" ]]; then
        printf '[smoke_test] cancelling leftover SLURM jobs named %s\n' "${run_id}" >&2
        timeout 20 scancel -n "${run_id}" || true
    fi
}

cleanup() {
    if ((ok)) && [[ -n "${WORK_DIR}" && "${GENOML_SMOKE_KEEP:-0}" != 1 ]]; then
        rm -rf -- "${WORK_DIR}"
    fi
}

trap 'fail "command failed (line ${LINENO}): ${BASH_COMMAND}"' ERR
trap cleanup EXIT

check_prerequisites() {
    if [[ -z "${SLURM_CONF:-}" && -f "${STATE_DIR}/etc/slurm.conf" ]]; then
        export SLURM_CONF="${STATE_DIR}/etc/slurm.conf"
    fi
    local tool version
    for tool in snakemake sbatch sacct sinfo; do
        command -v "${tool}" >/dev/null || fail "${tool} not on PATH (snakemake: activate the venv)"
    done
    version="$(timeout 60 snakemake --version)"
    [[ "${version}" == 9.* ]] || fail "snakemake ${version} found; need 9.x with the SLURM executor plugin"
    timeout 10 sinfo -h -o '%P' >/dev/null 2>&1 ||
        fail "sinfo cannot reach slurmctld (SLURM_CONF=${SLURM_CONF:-unset}); start the cluster first"
}

write_workflow() {
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/genoml-slurm-smoke.XXXXXX")"
    chmod 0755 "${WORK_DIR}"
    cat >"${WORK_DIR}/Snakefile" <<'EOF'
# Throwaway workflow written by .ci/slurm/smoke_test.sh. Each job records where it ran.


rule all:
    input:
        "results/summary.txt",
    localrule: True


# Named like a real torch rule, so that profiles/slurm's set-resources (partition gpu) apply.
rule train_net:
    output:
        "results/gpu.txt",
    resources:
        mem_mb=100,
        runtime=5,
        gpu=1,
    shell:
        'echo "job=${{SLURM_JOB_ID:-none}} gpus=${{CUDA_VISIBLE_DEVICES:-none}}" > {output}'


rule count_cpu:
    output:
        "results/cpu.txt",
    threads: 2
    resources:
        mem_mb=100,
        runtime=5,
    shell:
        'echo "job=${{SLURM_JOB_ID:-none}} cpus=${{SLURM_CPUS_PER_TASK:-none}} host=$(hostname -s)" > {output}'


# Has a conda env like the real rules: proves that profiles/ci-local replaces `--sdm conda`.
rule summarize:
    input:
        "results/gpu.txt",
        "results/cpu.txt",
    output:
        "results/summary.txt",
    conda:
        "env.yaml"
    resources:
        mem_mb=100,
        runtime=5,
    shell:
        'cat {input} > {output} && echo "job=${{SLURM_JOB_ID:-none}} summary" >> {output}'
EOF
    printf 'channels: [conda-forge]\ndependencies: [coreutils]\n' >"${WORK_DIR}/env.yaml"
}

run_workflow() {
    local start rc
    log "running the workflow in ${WORK_DIR} (timeout ${SMOKE_TIMEOUT} s)"
    start="${SECONDS}"
    # On SIGINT Snakemake scancels its jobs and exits (on SIGTERM it waits for them). Snakemake runs
    # in the foreground of this shell: background jobs of a non-interactive shell ignore SIGINT.
    # --foreground: without it, timeout signals its whole process group too, so Snakemake gets a
    # second SIGINT that interrupts its own scancel and leaves the jobs running.
    trap - ERR
    set +e
    # No cd: relative paths in "$@" (e.g. --profile profiles/slurm-noacct) stay relative to the caller.
    timeout --foreground -s INT -k 60 "${SMOKE_TIMEOUT}" snakemake --snakefile "${WORK_DIR}/Snakefile" \
        --directory "${WORK_DIR}" --workflow-profile none \
        --profile "${REPO}/profiles/slurm" --profile "${REPO}/profiles/ci-local" "$@" 2>&1 |
        tee "${WORK_DIR}/snakemake.out"
    rc="${PIPESTATUS[0]}"
    set -e
    trap 'fail "command failed (line ${LINENO}): ${BASH_COMMAND}"' ERR
    WALL_S=$((SECONDS - start))
    case "${rc}" in
        0) log "snakemake finished in ${WALL_S} s" ;;
        124 | 137) fail "snakemake did not finish within ${SMOKE_TIMEOUT} s (see squeue, sacct -X)" ;;
        *) fail "snakemake exited ${rc} after ${WALL_S} s (see ${WORK_DIR}/snakemake.out)" ;;
    esac
}

# sacct_field JOBID FIELD: one accounting field of the job's allocation (not its steps).
sacct_field() { timeout 20 sacct -n -P -X -j "$1" -o "$2" | head -n 1; }

check_jobs() {
    local -A job_of=()
    local line rule id partition state cpus tres
    # "Job 3 has been submitted with SLURM jobid 17 (log: .../logs/slurm/rule_train_net/17.log)."
    while IFS= read -r line; do
        id="$(sed -n 's/.*submitted with SLURM jobid \([0-9]*\) .*/\1/p' <<<"${line}")"
        rule="$(sed -n 's#.*/rule_\([A-Za-z0-9_]*\)/.*#\1#p' <<<"${line}")"
        [[ -n "${id}" && -n "${rule}" ]] || fail "cannot parse submission line: ${line}"
        job_of["${rule}"]="${id}"
    done < <(grep 'has been submitted with SLURM jobid' "${WORK_DIR}/snakemake.out" || true)

    for rule in train_net count_cpu summarize; do
        [[ -n "${job_of[${rule}]:-}" ]] || fail "rule ${rule} was not submitted through sbatch"
    done
    ((${#job_of[@]} == 3)) || fail "expected 3 SLURM jobs, got ${#job_of[@]}: ${!job_of[*]}"

    for rule in train_net count_cpu summarize; do
        id="${job_of[${rule}]}"
        state="$(sacct_field "${id}" State)"
        partition="$(sacct_field "${id}" Partition)"
        cpus="$(sacct_field "${id}" AllocCPUS)"
        tres="$(sacct_field "${id}" AllocTRES)"
        log "${rule}: SLURM job ${id} state=${state} partition=${partition} cpus=${cpus} tres=${tres}"
        [[ "${state}" == COMPLETED ]] || fail "${rule} (job ${id}) is ${state:-unknown to sacct}"
        grep -q "^job=${id} " "${WORK_DIR}/results/"* || fail "no output records SLURM_JOB_ID=${id}"
        case "${rule}" in
            train_net)
                [[ "${partition}" == gpu ]] || fail "train_net ran on partition '${partition}', not gpu"
                [[ "${tres}" == *gres/gpu=1* ]] || fail "train_net got no GPU (AllocTRES=${tres})"
                grep -q "^job=${id} gpus=[0-9]" "${WORK_DIR}/results/gpu.txt" ||
                    fail "train_net saw no CUDA_VISIBLE_DEVICES: $(cat "${WORK_DIR}/results/gpu.txt")"
                ;;
            count_cpu)
                [[ "${partition}" == norm ]] || fail "count_cpu ran on partition '${partition}', not norm"
                [[ "${cpus}" == 2 ]] || fail "count_cpu (threads: 2) got ${cpus} CPUs"
                ;;
            *)
                [[ "${partition}" == norm ]] || fail "${rule} ran on partition '${partition}', not norm"
                ;;
        esac
    done
}

main() {
    check_prerequisites
    write_workflow
    run_workflow "$@"
    check_jobs
    ok=1
    log "PASSED: 3 jobs through sbatch (GPU rule on partition gpu) in ${WALL_S} s"
}

main "$@"
