#!/usr/bin/env bash
# Install profiles/slurm as Snakemake's user profile "slurm", so that `snakemake --profile slurm`
# works verbatim from any directory (a bare profile name is looked up only in ./slurm, the user
# config dir and the site config dir, never in profiles/).
#
# Usage:  profiles/install_slurm_profile.sh [--copy] [--force]
#
# Default: a symlink <user config dir>/snakemake/slurm -> <this repo>/profiles/slurm. A symlink keeps
# one source of truth: a `git pull` updates the profile, and local edits to it show up in
# `git diff`. It breaks if the checkout moves or is deleted (rerun this script then).
#   --copy   copy the directory instead: survives moving/deleting the checkout, but goes stale
#            after updates (rerun with --copy --force to refresh it).
#   --force  replace an existing, different profile "slurm" (it is renamed to slurm.bak.<time>.<pid>).
# Idempotent: rerunning with the same choice changes nothing. The user config dir is the one
# Snakemake uses (platformdirs: ~/.config/snakemake on Linux, or $XDG_CONFIG_HOME/snakemake).
set -Eeuo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/slurm"
readonly SOURCE_DIR

log() { printf '[install_slurm_profile] %s\n' "$*"; }
fail() {
    printf '[install_slurm_profile] ERROR: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# The directory Snakemake searches for user profiles; asks platformdirs (as Snakemake does) when
# the current python has it (on macOS that is ~/Library/Application Support/snakemake).
user_config_dir() {
    local dir
    if dir="$(timeout 30 python3 -c \
        'from platformdirs import user_config_dir; print(user_config_dir("snakemake", "snakemake"))' \
        2>/dev/null)" && [[ -n "${dir}" ]]; then
        printf '%s\n' "${dir}"
    else
        printf '%s\n' "${XDG_CONFIG_HOME:-${HOME}/.config}/snakemake"
    fi
}

main() {
    local mode=link force=0 arg
    for arg in "$@"; do
        case "${arg}" in
            --copy) mode=copy ;;
            --force) force=1 ;;
            -h | --help)
                usage
                return 0
                ;;
            *) fail "unknown option '${arg}' (try --help)" ;;
        esac
    done
    [[ -f "${SOURCE_DIR}/config.yaml" ]] || fail "${SOURCE_DIR}/config.yaml not found"

    local config_dir target
    config_dir="$(user_config_dir)"
    target="${config_dir}/slurm"

    # Already installed as asked?
    if [[ "${mode}" == link && -L "${target}" && "$(readlink "${target}")" == "${SOURCE_DIR}" ]]; then
        log "already installed: ${target} -> ${SOURCE_DIR} (symlink); nothing to do"
        return 0
    fi
    if [[ "${mode}" == copy && -d "${target}" && ! -L "${target}" ]] &&
        diff -r "${SOURCE_DIR}" "${target}" >/dev/null 2>&1; then
        log "already installed: ${target} is an up-to-date copy of ${SOURCE_DIR}; nothing to do"
        return 0
    fi

    if [[ -e "${target}" || -L "${target}" ]]; then
        if ((!force)); then
            if [[ -L "${target}" ]]; then
                fail "${target} exists (symlink to $(readlink "${target}")); rerun with --force to replace it"
            fi
            fail "${target} exists and differs from ${SOURCE_DIR}; rerun with --force to replace it"
        fi
        local backup
        backup="${target}.bak.$(date +%Y%m%d%H%M%S).$$"
        # -T: never move *into* an existing directory (or a symlink to one, e.g. an older backup).
        mv -T -- "${target}" "${backup}"
        log "moved the previous ${target} to ${backup}"
    fi

    mkdir -p -- "${config_dir}"
    if [[ "${mode}" == link ]]; then
        ln -s -T -- "${SOURCE_DIR}" "${target}"
        log "installed ${target} -> ${SOURCE_DIR} (symlink: follows this checkout)"
    else
        cp -R -T -- "${SOURCE_DIR}" "${target}"
        log "installed a copy of ${SOURCE_DIR} at ${target} (rerun with --copy --force after updates)"
    fi
    log "now run: snakemake --profile slurm"
}

main "$@"
