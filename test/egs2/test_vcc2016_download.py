"""local/download.sh: failed and partial downloads are retried, reported, never unpacked."""

import os
import subprocess
import zipfile

from conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "egs2/vcc2016/vc1/local/download.sh"


def run(dest, url_base):
    env = {**os.environ, "VCC2016_URL_BASE": url_base, "VCC2016_DOWNLOAD_RETRIES": "2",
           "VCC2016_RETRY_WAIT": "0"}
    return subprocess.run(["bash", str(SCRIPT), str(dest)], capture_output=True, text=True, env=env)


def make_archive(path, folder):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{folder}/SF1/100001.wav", b"RIFF" + b"\0" * 100)


def test_unreachable_server_is_retried_and_reported(tmp_path):
    proc = run(tmp_path / "dl", f"file://{tmp_path}/nowhere")
    assert proc.returncode == 1
    assert "attempt 2/2" in proc.stdout
    assert "could not download" in proc.stderr and "vcc2016_training.zip" in proc.stderr
    assert not list((tmp_path / "dl").glob("vcc2016_training*"))


def test_truncated_archive_is_never_unpacked(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    make_archive(mirror / "full.zip", "vcc2016_training")
    data = (mirror / "full.zip").read_bytes()
    (mirror / "vcc2016_training.zip").write_bytes(data[: len(data) // 2])
    proc = run(tmp_path / "dl", f"file://{mirror}")
    assert proc.returncode == 1
    assert "failed the archive check" in proc.stderr
    dest = tmp_path / "dl"
    assert not (dest / "vcc2016_training").exists()
    assert not (dest / ".vcc2016_training.extracted").exists()
    assert not (dest / "vcc2016_training.zip").exists()


def test_complete_archives_are_extracted_once(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    make_archive(mirror / "vcc2016_training.zip", "vcc2016_training")
    make_archive(mirror / "evaluation_all.zip", "evaluation_all")
    dest = tmp_path / "dl"
    assert run(dest, f"file://{mirror}").returncode == 0
    assert (dest / "vcc2016_training/SF1/100001.wav").is_file()
    assert (dest / "evaluation_all/SF1/100001.wav").is_file()
    again = run(dest, f"file://{tmp_path}/nowhere")  # nothing left to fetch
    assert again.returncode == 0 and "already extracted" in again.stdout
