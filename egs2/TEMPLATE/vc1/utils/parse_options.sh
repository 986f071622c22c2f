#!/usr/bin/env bash
# Usage (inside a script, after declaring variables with their defaults):
#     nj=4; train_config=conf/train.yaml
#     . utils/parse_options.sh
#
# Turns leading "--name value", "--name=value" and "--na-me value" arguments
# into assignments of the already-declared shell variable "name"/"na_me".
# Parsing stops at "--" or at the first argument not starting with "--"; the
# remaining (positional) arguments are left in "$@".
# "--config FILE" sources FILE (lines of var=value) before any other option is
# applied, so explicit command-line options always win over the config file.
# "--help"/"-h" prints $help_message and exits 0.
#
# This file is sourced, so it must not alter the caller's shell options
# (set -e/-u/...): every command below is written to be safe under them, and
# only variables prefixed "_po_" are used as scratch space (unset at the end).

_po_die() {
    echo "parse_options.sh: $*" >&2
    exit 1
}

# Pass 1: apply config files first, so they act as overridable defaults.
_po_i=1
while [ "${_po_i}" -le $# ]; do
    _po_arg=${!_po_i}
    case "${_po_arg}" in
        --) break ;;
        --config=*) _po_cfg=${_po_arg#--config=} ;;
        --config)
            _po_i=$((_po_i + 1))
            [ "${_po_i}" -le $# ] || _po_die "option --config needs a value"
            _po_cfg=${!_po_i} ;;
        --*=*) _po_i=$((_po_i + 1)); continue ;;
        --*) _po_i=$((_po_i + 2)); continue ;;  # skip the option and its value
        *) break ;;
    esac
    [ -r "${_po_cfg}" ] || _po_die "config file '${_po_cfg}' (from --config) not found"
    # shellcheck disable=SC1090
    . "${_po_cfg}"
    _po_i=$((_po_i + 1))
done

# Pass 2: assign every option to its variable, consuming it from "$@".
while [ $# -gt 0 ]; do
    case "$1" in
        --help | -h)
            if [ -n "${help_message:-}" ]; then
                printf '%s\n' "${help_message}"
            else
                echo "No help message available for this script."
            fi
            exit 0 ;;
        --) shift; break ;;
        --*=*) _po_opt=${1%%=*}; _po_value=${1#*=}; shift ;;
        --*)
            _po_opt=$1
            [ $# -ge 2 ] || _po_die "option $1 needs a value"
            _po_value=$2
            shift 2 ;;
        *) break ;;
    esac
    _po_name=${_po_opt#--}
    _po_name=${_po_name//-/_}
    if [ "${_po_name}" = config ]; then continue; fi  # applied in pass 1
    # Refusing undeclared names turns a typo into an error instead of a silent
    # no-op; the identifier check also keeps printf -v from doing anything odd.
    if ! [[ "${_po_name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [[ "${_po_name}" == _po_* ]] \
        || ! declare -p "${_po_name}" >/dev/null 2>&1; then
        _po_die "unknown option ${_po_opt} (no variable '${_po_name}' is declared)"
    fi
    printf -v "${_po_name}" '%s' "${_po_value}"
done

unset _po_i _po_arg _po_cfg _po_opt _po_name _po_value
unset -f _po_die
# Leave $? at 0: a false last test must not trip the caller's "set -e".
true
