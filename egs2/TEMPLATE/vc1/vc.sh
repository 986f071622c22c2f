#!/usr/bin/env bash
# Shared stages of every voice-conversion recipe (CycleGAN-VC on ESPnet).
# A corpus recipe's run.sh calls this script with its own options; see
# README.md beside it for what the recipe must provide.
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
min() { local a=$1 b=$2; echo $(( a < b ? a : b )); }
SECONDS=0

# General options
stage=1               # First stage to run.
stop_stage=10000      # Last stage to run.
nj=4                  # Parallel jobs of feature extraction (stage 2) and scoring.
inference_nj=2        # Parallel jobs of conversion (stage 5).
ngpu=0                # GPUs for training (0: CPU).
gpu_inference=false   # Convert on a GPU.
python=python3        # Python of the environment (set by path.sh).
dumpdir=dump          # Features.
expdir=exp            # Statistics, models, conversions, scores.

# Data options
srcspk=               # Source speaker id (required).
trgspk=               # Target speaker id (required).
local_data_opts=      # Options passed to local/data.sh.
world_conf=conf/world.yaml  # WORLD settings shared by stages 2, 5 and 6.

# Training options
train_config=         # Training configuration (required from stage 3).
train_args=           # Extra arguments of vc_train, e.g. "--max_epoch 1".
tag=                  # Experiment name; default: <config name>_<src>_<trg>[<train_args>].
pair_seed=0           # Seed of the unpaired pair list.

# Inference and scoring options
inference_config=     # YAML of vc_inference options (optional).
inference_args=       # Extra arguments of vc_inference, e.g. "--log_level DEBUG".
inference_model=latest.pth  # Model file of exp/<tag>/ to convert with.
inference_tag=        # Decode directory name; default: <model name>[<inference_args>].
directions="src_to_trg trg_to_src"
learning_curve=false  # Stage 6 also scores every <n>epoch.pth: quality against updates.
curve_num_utts=10     # Evaluation sentences per checkpoint in the learning curve (0: all).
curve_every=1         # Score every N-th epoch model in the learning curve (and the last).
samples_num_utts=5    # Sentences per direction with audio and a picture on the samples page (0: all).

help_message=$(cat <<EOF
Usage: $0 --srcspk <src> --trgspk <trg> --train_config <yaml> [options]

Stages:
  1: data preparation (local/data.sh) into data/{train,dev,eval}_<spk>
  2: WORLD feature extraction into ${dumpdir}/<set>/{feats,f0,ap}.scp
  3: statistics: MCEP mean/std (ESPnet collect_stats) and log-F0 mean/std
  4: training (ESPnet GANTrainer), resumable
  5: conversion of the evaluation sets in both directions
  6: scoring: MCD (all frames, speech frames), log-F0 RMSE and pause power,
     converted vs unconverted baseline, and a samples page to listen to
     (<decode dir>/index.html); with --learning_curve true also every
     epoch model of the training, plotted against updates
  7: packing the model for distribution (espnet2.bin.pack)

Options (default):
  --stage (${stage}) --stop_stage (${stop_stage}) --nj (${nj}) --inference_nj (${inference_nj})
  --ngpu (${ngpu}) --gpu_inference (${gpu_inference}) --dumpdir (${dumpdir}) --expdir (${expdir})
  --srcspk --trgspk --local_data_opts --world_conf (${world_conf})
  --train_config --train_args --tag --pair_seed (${pair_seed})
  --inference_config --inference_args --inference_model (${inference_model}) --inference_tag
  --directions ("${directions}")
  --learning_curve (${learning_curve}) --curve_num_utts (${curve_num_utts}) --curve_every (${curve_every})
  --samples_num_utts (${samples_num_utts})
EOF
)

log "$0 $*"
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "${help_message}" >&2; log "Error: unexpected arguments: $*"; exit 2; }

. ./path.sh
. ./cmd.sh

# ---------------------------------------------------------------- checks
[ -n "${srcspk}" ] || { log "Error: --srcspk is required"; exit 2; }
[ -n "${trgspk}" ] || { log "Error: --trgspk is required"; exit 2; }
if [ "${stop_stage}" -ge 2 ] && [ ! -f "${world_conf}" ]; then
    log "Error: --world_conf ${world_conf} does not exist"; exit 2
fi
if [ "${stop_stage}" -ge 3 ] && [ "${stage}" -le 7 ]; then
    [ -n "${train_config}" ] || { log "Error: --train_config is required"; exit 2; }
    [ -f "${train_config}" ] || { log "Error: --train_config ${train_config} does not exist"; exit 2; }
    # Fail now on a config that does not parse, not after hours of features.
    ${python} -c "import sys, yaml; c = yaml.safe_load(open(sys.argv[1])); assert isinstance(c, dict), 'not a mapping'" \
        "${train_config}" 2>/dev/null \
        || { log "Error: --train_config ${train_config} is not a YAML mapping"; exit 2; }
fi
if [ -n "${inference_config}" ] && [ ! -f "${inference_config}" ]; then
    log "Error: --inference_config ${inference_config} does not exist"; exit 2
fi
for d in ${directions}; do
    case "${d}" in src_to_trg|trg_to_src) ;; *) log "Error: unknown direction '${d}'"; exit 2 ;; esac
done

# "--max_epoch 50 --optim_conf lr=1e-4" -> "_max_epoch50_optim_conflr1e-4" (as ESPnet's recipes name them)
args_suffix() { echo "$1" | sed -e 's/--/_/g' -e 's/[ |=/]//g'; }

pair=${srcspk}_${trgspk}
[ -n "${tag}" ] || tag="$(basename "${train_config:-train}" .yaml)_${pair}$(args_suffix "${train_args}")"
vc_exp=${expdir}/vc_${tag}
stats_dir=${expdir}/stats_${pair}
sets="train_${srcspk} train_${trgspk} dev_${srcspk} dev_${trgspk} eval_${srcspk} eval_${trgspk}"
[ -n "${inference_tag}" ] || inference_tag="${inference_model%.pth}$(args_suffix "${inference_args}")"
decode_dir=${vc_exp}/decode_${inference_tag}

# A stage's output directory is complete only when its .done marker exists and
# holds the stamp of what produced it: the options and the checksums of the
# files the stage read. A missing marker (interrupted) or another stamp
# (changed inputs or settings) means the output is removed and redone; so a
# changed setting never serves old results, and an unchanged re-run does no work.
is_done() { [ -f "$1/.done" ]; }
is_current() { [ -f "$1/.done" ] && [ "$(cat "$1/.done")" = "$2" ]; }
mark_done() { printf '%s\n' "$2" > "$1/.done"; }
checksum() { if [ -f "$1" ]; then md5sum < "$1" | cut -d' ' -f1; else echo none; fi; }
# Says why a directory with a marker is redone.
log_redo() { ! is_done "$1" || log "  $1: $2 changed since it was made; redoing it"; }

# ---------------------------------------------------------------- stage 1
if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: data preparation for ${srcspk} -> ${trgspk}"
    # shellcheck disable=SC2086
    local/data.sh --srcspk "${srcspk}" --trgspk "${trgspk}" ${local_data_opts}
    for s in ${sets}; do
        utils/validate_data_dir.sh "data/${s}"
    done
fi

# ---------------------------------------------------------------- stage 2
# Prints "<done>/<total>" every 15 s while the jobs of one set run, from the
# "<i>/<n> utterances" lines the jobs log every 10 utterances.
show_progress() {
    local logdir=$1 total=$2
    while sleep 15; do
        log "  ${logdir%/log}: $(awk '/ [0-9]+\/[0-9]+ utterances$/ { split($(NF-1), a, "/"); last[FILENAME] = a[1] }
            END { for (f in last) n += last[f]; print n + 0 }' "${logdir}"/extract.*.log 2>/dev/null || echo 0)/${total} utterances"
    done
}

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: WORLD features (${world_conf}) -> ${dumpdir}/"
    for s in ${sets}; do
        out=${dumpdir}/${s}
        stamp="wav.scp $(checksum "data/${s}/wav.scp") world_conf $(checksum "${world_conf}")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        log_redo "${out}" "data/${s}/wav.scp or ${world_conf}"
        rm -rf "${out}"; mkdir -p "${out}/log" "${out}/split"
        total=$(wc -l < "data/${s}/wav.scp")
        _nj=$(min "${nj}" "${total}")
        split_scps=""
        for n in $(seq "${_nj}"); do split_scps+=" ${out}/split/wav.${n}.scp"; done
        # shellcheck disable=SC2086
        utils/split_scp.sh "data/${s}/wav.scp" ${split_scps}
        show_progress "${out}/log" "${total}" & progress_pid=$!
        status=0
        ${train_cmd} JOB=1:"${_nj}" "${out}/log/extract.JOB.log" \
            ${python} -m espnet2_cyclegan_vc.bin.extract_world_feats \
                --wav_scp "${out}/split/wav.JOB.scp" --outdir "${out}/split/JOB" \
                --world_conf "${world_conf}" || status=$?
        kill "${progress_pid}" 2>/dev/null || true; wait "${progress_pid}" 2>/dev/null || true
        [ "${status}" -eq 0 ] || { log "Error: feature extraction of ${s} failed, see ${out}/log/"; exit 1; }
        for f in feats.scp f0.scp ap.scp utt2num_frames; do
            for n in $(seq "${_nj}"); do cat "${out}/split/${n}/${f}"; done | LC_ALL=C sort > "${out}/${f}"
        done
        skipped=$(cat "${out}"/log/extract.*.log | awk '/Skipping /' | wc -l)
        [ "${skipped}" -eq 0 ] || log "  Warning: ${skipped} utterance(s) of ${s} skipped, see ${out}/log/"
        mark_done "${out}" "${stamp}"
        log "  ${out}: $(wc -l < "${out}/feats.scp") utterances"
    done
fi

# ---------------------------------------------------------------- stage 3
if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    log "Stage 3: statistics -> ${stats_dir}/"
    for side in src trg; do
        spk=${srcspk}; [ "${side}" = trg ] && spk=${trgspk}
        out=${stats_dir}/${spk}
        is_done "${dumpdir}/train_${spk}" || { log "Error: ${dumpdir}/train_${spk} is not complete: run stage 2"; exit 1; }
        stamp="features $(checksum "${dumpdir}/train_${spk}/.done") $(checksum "${dumpdir}/dev_${spk}/.done")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        log_redo "${out}" "the features of ${spk}"
        rm -rf "${out}"; mkdir -p "${out}"
        # MCEP mean/std through ESPnet's --collect_stats (stats npz layout).
        ${train_cmd} "${out}/collect_stats.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_train --collect_stats true \
                --config "${train_config}" --ngpu 0 --num_workers 0 \
                --output_dir "${out}/collect_stats" \
                --train_data_path_and_name_and_type "${dumpdir}/train_${spk}/feats.scp,${side}_feats,kaldi_ark" \
                --valid_data_path_and_name_and_type "${dumpdir}/dev_${spk}/feats.scp,${side}_feats,kaldi_ark" \
                --train_shape_file "${dumpdir}/train_${spk}/utt2num_frames" \
                --valid_shape_file "${dumpdir}/dev_${spk}/utt2num_frames"
        # Refuse statistics that would normalise every feature to NaN.
        ${python} -c "import sys, numpy as np; s = np.load(sys.argv[1]); sys.exit(0 if all(np.all(np.isfinite(s[k])) for k in s.files) else 1)" \
            "${out}/collect_stats/train/${side}_feats_stats.npz" \
            || { log "Error: MCEP statistics of ${spk} contain NaN or inf, see ${dumpdir}/train_${spk}/"; exit 1; }
        cp "${out}/collect_stats/train/${side}_feats_stats.npz" "${out}/feats_stats.npz"
        ${train_cmd} "${out}/logf0_stats.log" \
            ${python} -m espnet2_cyclegan_vc.bin.compute_logf0_stats \
                --f0_scp "${dumpdir}/train_${spk}/f0.scp" --output "${out}/logf0_stats.npz" --speaker "${spk}"
        grep "log-F0 mean" "${out}/logf0_stats.log" | sed 's/.*INFO: /  /'
        mark_done "${out}" "${stamp}"
    done
    for split in train dev; do
        out=${dumpdir}/${pair}/${split}
        stamp="seed ${pair_seed} $(checksum "${dumpdir}/${split}_${srcspk}/.done") $(checksum "${dumpdir}/${split}_${trgspk}/.done")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        ${python} -m espnet2_cyclegan_vc.bin.make_pair_list --seed "${pair_seed}" \
            --src_scp "${dumpdir}/${split}_${srcspk}/feats.scp" \
            --trg_scp "${dumpdir}/${split}_${trgspk}/feats.scp" \
            --outdir "${out}"
        mark_done "${out}" "${stamp}"
    done
fi

# ---------------------------------------------------------------- stage 4
if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    log "Stage 4: training -> ${vc_exp}/ (log: ${vc_exp}/train.log)"
    # What the model is made from; a finished training with the same stamp is
    # not touched, a different one never resumes into this directory.
    stamp="train_config $(checksum "${train_config}") train_args ${train_args} world_conf $(checksum "${world_conf}")"
    stamp+=" stats $(checksum "${stats_dir}/${srcspk}/.done") $(checksum "${stats_dir}/${trgspk}/.done")"
    stamp+=" pairs $(checksum "${dumpdir}/${pair}/train/.done") $(checksum "${dumpdir}/${pair}/dev/.done")"
    if is_current "${vc_exp}" "${stamp}"; then
        log "  ${vc_exp}: up to date (the training finished with these settings)"
    else
        if [ -f "${vc_exp}/.settings" ] && [ "$(cat "${vc_exp}/.settings")" != "${stamp}" ]; then
            log "Error: ${vc_exp} was trained from other settings or data (see ${vc_exp}/.settings):" \
                "give another --tag, or remove ${vc_exp} to train again"
            exit 1
        fi
        mkdir -p "${vc_exp}"
        printf '%s\n' "${stamp}" > "${vc_exp}/.settings"
        # A resumed run writes a new log; keep the one of the epochs already trained.
        if [ -s "${vc_exp}/train.log" ]; then
            n=1; while [ -e "${vc_exp}/train.${n}.log" ]; do n=$((n + 1)); done
            mv "${vc_exp}/train.log" "${vc_exp}/train.${n}.log"
            log "  earlier log kept as ${vc_exp}/train.${n}.log"
        fi
        train_data=${dumpdir}/${pair}/train
        dev_data=${dumpdir}/${pair}/dev
        # shellcheck disable=SC2086
        ${cuda_cmd} --gpu "${ngpu}" "${vc_exp}/train.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_train \
                --config "${train_config}" --ngpu "${ngpu}" --output_dir "${vc_exp}" --resume true \
                --world_conf "$(${python} -c 'import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])) or {}))' "${world_conf}")" \
                --train_data_path_and_name_and_type "${train_data}/src_feats.scp,src_feats,kaldi_ark" \
                --train_data_path_and_name_and_type "${train_data}/trg_feats.scp,trg_feats,kaldi_ark" \
                --valid_data_path_and_name_and_type "${dev_data}/src_feats.scp,src_feats,kaldi_ark" \
                --valid_data_path_and_name_and_type "${dev_data}/trg_feats.scp,trg_feats,kaldi_ark" \
                --train_shape_file "${train_data}/src_feats.scp" --valid_shape_file "${dev_data}/src_feats.scp" \
                --src_normalize global_mvn --src_normalize_conf stats_file="${stats_dir}/${srcspk}/feats_stats.npz" \
                --trg_normalize global_mvn --trg_normalize_conf stats_file="${stats_dir}/${trgspk}/feats_stats.npz" \
                --model_conf src_logf0_stats_file="${stats_dir}/${srcspk}/logf0_stats.npz" \
                --model_conf trg_logf0_stats_file="${stats_dir}/${trgspk}/logf0_stats.npz" \
                ${train_args}
        mark_done "${vc_exp}" "${stamp}"
        log "  $(grep -c 'epoch results' "${vc_exp}/train.log" || true) epoch(s) in this run; model: ${vc_exp}/${inference_model}"
    fi
fi

# ---------------------------------------------------------------- stage 5
if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    log "Stage 5: conversion with ${vc_exp}/${inference_model} -> ${decode_dir}/"
    [ -f "${vc_exp}/${inference_model}" ] || { log "Error: ${vc_exp}/${inference_model} does not exist: run stage 4"; exit 1; }
    _ngpu=0; [ "${gpu_inference}" = true ] && _ngpu=1
    for d in ${directions}; do
        spk=${srcspk}; [ "${d}" = trg_to_src ] && spk=${trgspk}
        out=${decode_dir}/${d}
        stamp="model $(checksum "${vc_exp}/${inference_model}") config $(checksum "${inference_config}")"
        stamp+=" args ${inference_args} input $(checksum "data/eval_${spk}/wav.scp")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        log_redo "${out}" "the model, --inference_config or the input"
        rm -rf "${out}"; mkdir -p "${out}/log" "${out}/split"
        _nj=$(min "${inference_nj}" "$(wc -l < "data/eval_${spk}/wav.scp")")
        keys=""
        for n in $(seq "${_nj}"); do keys+=" ${out}/split/keys.${n}.scp"; done
        # shellcheck disable=SC2086
        utils/split_scp.sh "data/eval_${spk}/wav.scp" ${keys}
        _opts=""; [ -n "${inference_config}" ] && _opts="--config ${inference_config}"
        # shellcheck disable=SC2086
        ${decode_cmd} --gpu "${_ngpu}" JOB=1:"${_nj}" "${out}/log/convert.JOB.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_inference ${_opts} --ngpu "${_ngpu}" \
                --train_config "${vc_exp}/config.yaml" --model_file "${vc_exp}/${inference_model}" \
                --wav_scp "data/eval_${spk}/wav.scp" --key_file "${out}/split/keys.JOB.scp" \
                --direction "${d}" --output_dir "${out}/split/JOB" ${inference_args}
        for n in $(seq "${_nj}"); do cat "${out}/split/${n}/wav.scp"; done | LC_ALL=C sort > "${out}/wav.scp"
        mark_done "${out}" "${stamp}"
        log "  ${out}/wav.scp: $(wc -l < "${out}/wav.scp") converted utterances"
    done
fi

# ---------------------------------------------------------------- stage 6
if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    log "Stage 6: scoring -> ${decode_dir}/<direction>/scoring/"
    rescored=false
    for d in ${directions}; do
        in_spk=${srcspk}; out_spk=${trgspk}
        [ "${d}" = trg_to_src ] && { in_spk=${trgspk}; out_spk=${srcspk}; }
        out=${decode_dir}/${d}
        is_done "${out}" || { log "Error: ${out} is not complete: run stage 5"; exit 1; }
        # A picture for every sentence the samples page shows (0: all of them).
        _plots=${samples_num_utts}; [ "${_plots}" -gt 0 ] || _plots=$(wc -l < "${out}/wav.scp")
        stamp="converted $(checksum "${out}/.done") world_conf $(checksum "${world_conf}") plots ${_plots}"
        stamp+=" references $(checksum "data/eval_${in_spk}/wav.scp") $(checksum "data/eval_${out_spk}/wav.scp")"
        if is_current "${out}/scoring" "${stamp}"; then
            log "  ${out}/scoring: up to date"; continue
        fi
        log_redo "${out}/scoring" "the conversions, ${world_conf} or the references"
        rm -rf "${out}/scoring"
        ${train_cmd} "${out}/scoring/score.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_score --nj "${nj}" --world_conf "${world_conf}" \
                --converted_scp "${out}/wav.scp" \
                --source_scp "data/eval_${in_spk}/wav.scp" --target_scp "data/eval_${out_spk}/wav.scp" \
                --source_spk "${in_spk}" --target_spk "${out_spk}" --outdir "${out}/scoring" \
                --num_plots "${_plots}"
        mark_done "${out}/scoring" "${stamp}"
        rescored=true
    done
    if [ "${rescored}" = true ] || [ ! -f "${decode_dir}/results.md" ] || [ ! -f "${decode_dir}/index.html" ]; then
        ${python} -m espnet2_cyclegan_vc.bin.summarize_scores --decode_dir "${decode_dir}" \
            --directions ${directions} --output "${decode_dir}/results.md"
        ${python} -m espnet2_cyclegan_vc.bin.samples_page --num_utts "${samples_num_utts}" \
            --title "${pair} $(basename "${vc_exp}") $(basename "${decode_dir}")" "${decode_dir}"
    fi
    cat "${decode_dir}/results.md"
    log "  Samples page: ${decode_dir}/index.html"
    if [ "${learning_curve}" = true ]; then
        log "  Learning curve: every epoch model on ${curve_num_utts} sentence(s) -> ${vc_exp}/learning_curve/"
        ${train_cmd} "${vc_exp}/learning_curve/curve.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_learning_curve --exp_dir "${vc_exp}" \
                --src_wav_scp "data/eval_${srcspk}/wav.scp" --trg_wav_scp "data/eval_${trgspk}/wav.scp" \
                --srcspk "${srcspk}" --trgspk "${trgspk}" --num_utts "${curve_num_utts}" --every "${curve_every}" \
                --directions ${directions} --nj "${nj}" --outdir "${vc_exp}/learning_curve"
        log "  ${vc_exp}/learning_curve/curve.png, curve.tsv"
    fi
fi

# ---------------------------------------------------------------- stage 7
if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    log "Stage 7: packing ${vc_exp}/${inference_model} -> ${vc_exp}/packed_model.zip"
    ${python} -m espnet2.bin.pack tts \
        --train_config "${vc_exp}/config.yaml" --model_file "${vc_exp}/${inference_model}" \
        --option "${stats_dir}/${srcspk}/feats_stats.npz" --option "${stats_dir}/${trgspk}/feats_stats.npz" \
        --option "${stats_dir}/${srcspk}/logf0_stats.npz" --option "${stats_dir}/${trgspk}/logf0_stats.npz" \
        --outpath "${vc_exp}/packed_model.zip"
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
