#!/usr/bin/env python3
"""A local web demo of trained voices (Gradio; pip install 'espnet2-cyclegan-vc[demo]').

    python -m espnet2_cyclegan_vc.bin.vc_demo --model exp/packed/vc_SF1_TM3.zip --model owner/name
    # then open http://127.0.0.1:7860

Pick a model (every --model: packed zip, experiment directory or Hub repo id,
as vc_convert takes them) and a direction by its speakers. The "Recording"
tab converts an uploaded file or a microphone recording as a whole (the best
quality) and plays and offers the result for download beside the input. The
"Live" tab streams the microphone through the streaming converter
(VoiceConverter.stream): the converted voice follows with the latency shown
on the page, where the browser allows microphone access (a page served from
127.0.0.1 or over https). Serves on 127.0.0.1 only unless --host says
otherwise; nothing is sent anywhere else.
"""

import argparse
import contextlib
import importlib.util
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from espnet2_cyclegan_vc.bin import USER_ERRORS, add_log_level_argument, positive_int, run_main, setup_logging
from espnet2_cyclegan_vc.conversion import convert_file
from espnet2_cyclegan_vc.world import AudioError

with contextlib.redirect_stdout(io.StringIO()):  # ESPnet's import noise
    from espnet2_cyclegan_vc.bin.vc_convert import resolve_model
    from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter


class Voices:
    """The converters of the --model arguments, and their directions named by speakers."""

    def __init__(self, models: List[str], workdir: str, f0_method: str = None):
        self.converters: Dict[str, VoiceConverter] = {}
        self.directions: Dict[str, Dict[str, str]] = {}  # model name -> {"A → B": direction}
        for i, model in enumerate(models):
            resolved = resolve_model(model, os.path.join(workdir, str(i)))
            name = Path(model.rstrip("/")).name if Path(model).exists() else model
            with contextlib.redirect_stdout(io.StringIO()):
                self.converters[name] = VoiceConverter(resolved.train_config, resolved.model_file,
                                                       f0_method=f0_method)
            self.directions[name] = {f"{a} → {b}": d for d, (a, b) in resolved.info.directions().items()}
            logging.info(f"{model}: {', '.join(self.directions[name])}")

    def get(self, model: str, direction: str) -> Tuple[VoiceConverter, str]:
        if model not in self.converters:
            raise ValueError(f"no model {model!r}")
        if direction not in self.directions[model]:
            raise ValueError(f"{model} has no direction {direction!r}")
        return self.converters[model], self.directions[model][direction]


def live_step(stream, chunk):
    """One microphone chunk as Gradio streams it, (fs, int16 or float samples), through
    a StreamingConverter; returns (stream, (fs, int16 samples) of converted speech).
    The first chunk at another rate than the stream's restarts it at that rate."""
    if stream is None or chunk is None:
        return stream, None
    fs, samples = chunk
    samples = np.asarray(samples)
    if samples.dtype.kind in "iu":
        samples = samples / float(np.iinfo(samples.dtype).max + 1)
    if fs != stream.fs:
        stream = stream.converter.stream(direction=stream.direction, fs=fs)
    out = stream.feed(samples.astype(np.float64))
    return stream, (stream.world.fs, (np.clip(out, -1.0, 1.0) * 32767).astype(np.int16))


def build_demo(voices: Voices, outdir: str):
    """The Gradio Blocks app."""
    import gradio as gr

    names = list(voices.converters)

    def direction_choices(model):
        choices = list(voices.directions[model])
        return gr.Dropdown(choices=choices, value=choices[0])

    def convert(model, direction, path):
        if not path:
            raise gr.Error("Upload or record some speech first.")
        vc, d = voices.get(model, direction)
        out = Path(tempfile.mkdtemp(dir=outdir)) / (Path(path).stem + "_converted.wav")
        try:
            convert_file(vc, path, str(out), d)
        except (AudioError, FloatingPointError) as e:
            raise gr.Error(str(e))
        return str(out)

    def start_live(model, direction):
        vc, d = voices.get(model, direction)
        stream = vc.stream(direction=d)
        return stream, f"Live: {direction}, latency {1000 * stream.latency_s:.0f} ms plus the browser's chunk."

    with gr.Blocks(title="CycleGAN-VC voices", analytics_enabled=False) as demo:
        gr.Markdown("# CycleGAN-VC voices\nConvert speech into another speaker's voice with a trained model.")
        with gr.Row():
            model = gr.Dropdown(names, value=names[0], label="Model")
            first = list(voices.directions[names[0]])
            direction = gr.Dropdown(first, value=first[0], label="Direction")
        model.change(direction_choices, model, direction)
        with gr.Tab("Recording"):
            with gr.Row():
                source = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Input",
                                  elem_id="source")
                converted = gr.Audio(type="filepath", label="Converted", interactive=False, elem_id="converted")
            gr.Button("Convert", variant="primary", elem_id="convert").click(
                convert, [model, direction, source], converted)
        with gr.Tab("Live"):
            info = gr.Markdown("Press Start, then speak.")
            state = gr.State(None)
            gr.Button("Start", elem_id="start").click(start_live, [model, direction], [state, info])
            mic = gr.Audio(sources=["microphone"], streaming=True, label="Microphone")
            speaker = gr.Audio(streaming=True, autoplay=True, interactive=False, label="Converted (live)")
            mic.stream(live_step, [state, mic], [state, speaker], stream_every=0.1)
    return demo


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True,
                        help="Packed model, experiment directory or Hub repo id (repeat for several)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=positive_int, default=7860)
    parser.add_argument("--f0_method", choices=("harvest", "dio"), default=None,
                        help="F0 analysis (default: the training's)")
    add_log_level_argument(parser)
    return parser


def serve(args) -> None:
    if importlib.util.find_spec("gradio") is None:  # said before the models load
        raise ModuleNotFoundError("vc_demo needs Gradio: pip install 'espnet2-cyclegan-vc[demo]'")
    with tempfile.TemporaryDirectory(prefix="vc_demo.") as workdir:
        voices = Voices(args.model, workdir, args.f0_method)
        demo = build_demo(voices, workdir)
        demo.queue().launch(server_name=args.host, server_port=args.port, share=False, inbrowser=False,
                            allowed_paths=[workdir])


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # A model that does not load (missing, not a converter, a mix-up of files) is the user's to fix.
    run_main("vc_demo", lambda: serve(args), user_errors=USER_ERRORS + (ImportError, RuntimeError))


if __name__ == "__main__":
    main()
