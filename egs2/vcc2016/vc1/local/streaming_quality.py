#!/usr/bin/env python3
"""Quality against latency of streaming conversion (RESULTS.md, "Streaming").

For each trained pair and both directions, the first --num_utts evaluation
sentences are converted whole (VoiceConverter) and streamed in --block_ms
blocks (VoiceConverter.stream) with each generator look-ahead of
--lookaheads. Both use the same F0 analysis (--f0_method), so what differs is
streaming alone. Per look-ahead: the stream's algorithmic latency, MCD and
log-F0 RMSE of the streamed output against the whole-file conversion (same
time line, no alignment), speaker cosine to the target's centroid, CER of
Whisper tiny.en against its transcript of the natural source utterance (as
stage 6 without corpus transcripts) and predicted MOS, each beside the
whole-file conversion's. Writes OUT/streaming_quality.json and prints a
Markdown table.

    local/streaming_quality.py --pairs SF1_TM3 SM1_TF2 --out exp/streaming_quality
"""

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from espnet2_cyclegan_vc.audio import match_level
from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
from espnet2_cyclegan_vc.scoring.intelligibility import SpeechRecognizer, error_counts, summarize_errors
from espnet2_cyclegan_vc.scoring.metrics import mel_cepstral_distortion, wav_features
from espnet2_cyclegan_vc.scoring.naturalness import MosPredictor
from espnet2_cyclegan_vc.scoring.speaker import SpeakerCentroid, SpeakerEncoder, cosine
from espnet2_cyclegan_vc.world import load_wav


def stream_file(converter, wav, direction, lookahead, block):
    stream = converter.stream(direction=direction, lookahead_frames=lookahead)
    out = [stream.feed(wav[i:i + block]) for i in range(0, len(wav), block)]
    out.append(stream.finish())
    # Output sample n is the conversion of input sample n: the same time line as the input.
    return np.concatenate(out), stream.latency_s


def compare(whole, streamed, config):
    """MCD (dB, c1.., all frames) and log-F0 RMSE of streamed against whole, frame by frame."""
    a, b = wav_features(whole, config), wav_features(streamed, config)
    n = min(len(a.f0), len(b.f0))
    mcd = mel_cepstral_distortion(a.mcep[:n], b.mcep[:n])
    voiced = (a.f0[:n] > 0) & (b.f0[:n] > 0)
    rmse = float(np.sqrt(np.mean((np.log(a.f0[:n][voiced]) - np.log(b.f0[:n][voiced])) ** 2))) if voiced.any() else None
    return mcd, rmse, float(np.mean((a.f0[:n] > 0) == (b.f0[:n] > 0)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=["SF1_TM3", "SM1_TF2"])
    parser.add_argument("--exp_prefix", default="exp/vc_cpu_")
    parser.add_argument("--model", default="valid.generator_cycle_loss.ave_80best.pth")
    parser.add_argument("--num_utts", type=int, default=8)
    parser.add_argument("--lookaheads", type=int, nargs="+", default=[0, 8, 16, 32, 64])
    parser.add_argument("--block_ms", type=float, default=20.0)
    parser.add_argument("--f0_method", default="dio")
    parser.add_argument("--out", default="exp/streaming_quality")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    asr, mos, encoder = SpeechRecognizer(), MosPredictor(), SpeakerEncoder()
    rows = []
    for pair in args.pairs:
        src, trg = pair.split("_")
        exp = f"{args.exp_prefix}{pair}"
        vc = VoiceConverter(f"{exp}/config.yaml", f"{exp}/{args.model}", f0_method=args.f0_method)
        block = int(round(args.block_ms / 1000 * vc.fs))
        for direction, spk_in, spk_out in (("src_to_trg", src, trg), ("trg_to_src", trg, src)):
            centroid = SpeakerCentroid.load(f"exp/speaker_centroids/{spk_out}/centroid.npz")
            for line in Path(f"data/eval_{spk_in}/wav.scp").read_text().splitlines()[: args.num_utts]:
                key, path = line.split(maxsplit=1)
                wav = load_wav(path, vc.fs)
                reference = asr.transcribe(wav).text
                whole, _ = match_level(vc(wav, vc.fs, direction), vc.fs, wav, vc.fs)
                whole = whole[: len(wav)]
                base = {"pair": pair, "direction": f"{spk_in}->{spk_out}", "utt": key}
                scored = {"whole": whole}
                for la in args.lookaheads:
                    start = time.perf_counter()
                    y, latency = stream_file(vc, wav, direction, la, block)
                    scored[la] = y
                    mcd, rmse, vuv = compare(whole, y, vc.world)
                    rows.append({**base, "lookahead": la, "latency_ms": 1000 * latency, "mcd_vs_whole": mcd,
                                 "logf0_rmse_vs_whole": rmse, "vuv_agreement": vuv,
                                 "seconds": time.perf_counter() - start})
                for name, y in scored.items():
                    row = next((r for r in rows if r["utt"] == key and r["pair"] == pair and r.get("lookahead") == name),
                               None) if name != "whole" else None
                    if row is None:
                        row = {**base, "lookahead": "whole"}
                        rows.append(row)
                    row["cos_target"] = cosine(encoder.embed(y), centroid.vector)
                    row["errors"] = error_counts(reference, asr.transcribe(y).text).__dict__
                    row["mos"] = mos.predict(y)
                logging.info(f"{pair} {direction} {key} done")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "streaming_quality.json").write_text(json.dumps(rows, indent=1))
    print(table(rows, args.lookaheads))


def table(rows, lookaheads):
    from espnet2_cyclegan_vc.scoring.intelligibility import ErrorCounts

    lines = ["| look-ahead (frames) | latency (ms) | MCD vs whole (dB) | log-F0 RMSE vs whole | V/UV agreement "
             "| speaker cos | CER (%) | MOS |", "|---|---|---|---|---|---|---|---|"]
    for la in ["whole"] + list(lookaheads):
        sel = [r for r in rows if r["lookahead"] == la]
        if not sel:
            continue
        cer = summarize_errors([ErrorCounts(**r["errors"]) for r in sel])["cer"]

        def mean(key):
            vals = [r[key] for r in sel if r.get(key) is not None]
            return f"{np.mean(vals):.3f}" if vals else "-"

        name = "whole file" if la == "whole" else str(la)
        latency = "-" if la == "whole" else f"{sel[0]['latency_ms']:.0f}"
        lines.append(f"| {name} | {latency} | {mean('mcd_vs_whole')} | {mean('logf0_rmse_vs_whole')} | "
                     f"{mean('vuv_agreement')} | {mean('cos_target')} | {cer:.1f} | {mean('mos')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
