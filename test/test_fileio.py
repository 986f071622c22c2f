"""espnet2_cyclegan_vc.fileio: scp lists and outputs that are complete or absent."""

import numpy as np
import pytest
import soundfile

from espnet2_cyclegan_vc.fileio import (
    ScpError,
    atomic_output,
    read_scp,
    save_npz_atomic,
    write_scp,
    write_text_atomic,
    write_wav_atomic,
)


def test_read_scp_keeps_order_and_spaces_in_values(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("b /x/b.wav\n\na sox /x/a.wav -t wav - |\n  c   /x/c.wav  \n")
    assert read_scp(scp) == [("b", "/x/b.wav"), ("a", "sox /x/a.wav -t wav - |"), ("c", "/x/c.wav")]


@pytest.mark.parametrize("content, message", [
    ("a /x/a.wav\nb\n", r"wav.scp:2: expected '<key> <value>'"),
    ("a /x/a.wav\nb /x/b.wav\na /x/c.wav\n", r"wav.scp:3: duplicate key a \(first on line 1\)"),
])
def test_read_scp_names_the_file_and_line_of_a_bad_entry(tmp_path, content, message):
    scp = tmp_path / "wav.scp"
    scp.write_text(content)
    with pytest.raises(ScpError, match=message):
        read_scp(scp)


def test_read_scp_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.scp"):
        read_scp(tmp_path / "nothere.scp")


def test_write_scp_round_trips(tmp_path):
    entries = [("k2", "/p/two.wav"), ("k1", "/p/with space.wav")]
    write_scp(tmp_path / "sub/out.scp", entries)
    assert read_scp(tmp_path / "sub/out.scp") == entries


def test_atomic_output_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(path) as tmp:
            with open(tmp, "w") as f:
                f.write("half of the new")
            raise RuntimeError("killed half-way")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]  # no temporary left


def test_atomic_output_replaces_on_success_with_a_readable_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    write_text_atomic(path, "new ünïcode\n")
    assert path.read_text(encoding="utf-8") == "new ünïcode\n"
    assert path.stat().st_mode & 0o444 == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_temporary_names_keep_the_suffix_for_writers_that_choose_the_format_by_it(tmp_path):
    with atomic_output(tmp_path / "plot.png") as tmp:
        assert tmp.endswith(".png") and "plot" in tmp and tmp != str(tmp_path / "plot.png")


def test_write_wav_atomic_clips_floats_and_keeps_int16(tmp_path):
    write_wav_atomic(tmp_path / "f.wav", np.array([0.5, 1.7, -3.0]), 16000)
    samples, fs = soundfile.read(tmp_path / "f.wav", dtype="int16")
    assert fs == 16000 and samples.tolist() == [16384, 32767, -32768]
    write_wav_atomic(tmp_path / "i.wav", np.array([1, -2, 300], dtype=np.int16), 8000)
    samples, fs = soundfile.read(tmp_path / "i.wav", dtype="int16")
    assert fs == 8000 and samples.tolist() == [1, -2, 300]


def test_save_npz_atomic_writes_exactly_the_named_file(tmp_path):
    save_npz_atomic(tmp_path / "stats.npz", count=np.array([3]), sum=np.array([1.5]))
    with np.load(tmp_path / "stats.npz") as z:
        assert z["count"].tolist() == [3] and z["sum"].tolist() == [1.5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.npz"]
