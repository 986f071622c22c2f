"""The web demo (bin/vc_demo) in a real headless Chromium: the page loads, an
uploaded VCC2016 sentence comes back converted, a bad file is reported on the page.

The demo runs as a user starts it (its own process, a packed model); the
browser is the system's Chromium driven by Playwright. A microphone cannot be
tested here: the live path is the streaming converter, tested with audio fed
in blocks in test_streaming.py, and here through the demo's own stream function.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import soundfile

from conftest import needs_vcc2016, tiny_packed_model, vcc2016_root

pytest.importorskip("gradio")
playwright = pytest.importorskip("playwright.sync_api")


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        message = "Chromium not found (Debian: apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    model = tiny_packed_model(tmp_path_factory.mktemp("model"))
    port = free_port()
    log = open(tmp_path_factory.mktemp("log") / "demo.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "espnet2_cyclegan_vc.bin.vc_demo", "--model", str(model),
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"vc_demo exited: {log.read()[-3000:]}")
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("vc_demo did not start in 120 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def page(demo):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.goto(demo)
        page.locator("#convert").wait_for(timeout=60000)  # the app has rendered
        yield page
        browser.close()


def upload_and_convert(page, path):
    page.locator("#source input[type=file]").set_input_files(str(path))
    # The upload has reached the server once the input offers it for download.
    page.locator("#source a[data-testid=download-link]").wait_for(state="attached", timeout=30000)
    page.locator("#convert").click()


@needs_vcc2016
def test_an_uploaded_sentence_comes_back_converted(page, demo, tmp_path):
    assert "CycleGAN-VC voices" in page.title()
    assert page.get_by_label("Direction").input_value() == "ALICE → BOB"
    sentence = vcc2016_root() / "evaluation_all/SF1/200001.wav"
    upload_and_convert(page, sentence)
    download = page.locator("#converted a[data-testid=download-link]")
    download.wait_for(state="attached", timeout=120000)
    src = download.get_attribute("href")
    assert src.endswith("/200001_converted.wav")
    converted = tmp_path / "converted.wav"
    converted.write_bytes(page.request.get(src).body())
    wav, fs = soundfile.read(converted)
    info = soundfile.info(str(sentence))
    assert fs == info.samplerate and abs(len(wav) - info.frames) <= 1
    assert np.all(np.isfinite(wav)) and np.max(np.abs(wav)) <= 10 ** (-1 / 20) + 1e-4
    assert np.std(wav) > 1e-3  # not silence
    source, _ = soundfile.read(sentence)
    assert np.corrcoef(wav, source)[0, 1] < 0.9  # another voice, not the input handed back


def test_a_file_that_is_not_audio_is_reported_on_the_page(page, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    page.reload()
    page.locator("#convert").wait_for(timeout=60000)
    upload_and_convert(page, bad)
    # Gradio shows the converter's own message (it names the file) in an error toast.
    page.get_by_text("cannot read audio").first.wait_for(timeout=60000)


def test_the_live_function_streams_microphone_chunks_with_the_stated_latency(tmp_path):
    """The Live tab's stream function, fed 100 ms microphone chunks (int16, 48 kHz) as Gradio gives them."""
    from espnet2_cyclegan_vc.bin.vc_demo import Voices, build_demo, live_step

    model = tiny_packed_model(tmp_path / "model")
    voices = Voices([str(model)], str(tmp_path / "work"))
    build_demo(voices, str(tmp_path))  # the page builds without a server
    vc, direction = voices.get(model.name, "ALICE → BOB")
    stream = vc.stream(direction=direction)
    t = np.arange(48000) / 48000
    mic = (0.3 * np.sign(np.sin(2 * np.pi * 150 * t)) * 32767).astype(np.int16)
    emitted = 0
    for i in range(0, len(mic), 4800):
        stream, (fs, out) = live_step(stream, (48000, mic[i:i + 4800]))
        assert fs == 16000 and out.dtype == np.int16
        emitted += len(out)
    assert stream.fs == 48000
    # A second of input at the model's rate, less the stated latency (which counts soxr's filter delay).
    assert abs((16000 - stream.latency_samples) - emitted) <= 2
    assert live_step(stream, None) == (stream, None)
