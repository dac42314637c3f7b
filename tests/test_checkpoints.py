"""gancourse.checkpoints: whole files or none, checkpoints that load back with weights_only, clear errors."""

import collections
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse import data, nets
from gancourse.checkpoints import atomic_write, load_checkpoint, save_checkpoint
from gancourse.train import train


def test_atomic_write_takes_bytes_text_or_a_writer_and_leaves_no_temp_file(tmp_path):
    assert atomic_write(tmp_path / "a.bin", b"\x00\x01") == tmp_path / "a.bin"
    atomic_write(tmp_path / "sub" / "b.txt", "grüße\n")  # folders are made
    atomic_write(tmp_path / "c.pt", lambda f: torch.save({"x": torch.ones(2)}, f))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "b.txt").read_text(encoding="utf-8") == "grüße\n"
    assert torch.equal(torch.load(tmp_path / "c.pt", weights_only=True)["x"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "c.pt", "sub"]


def test_a_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "c.pt"
    atomic_write(path, b"old")

    def broken(f):
        f.write(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_the_temp_files_of_a_killed_writer_are_removed_at_the_next_save(tmp_path):
    """A process killed mid-write (SIGKILL: no finally) leaves its temp file; the next write of that file removes it."""
    left = [tmp_path / ".run.pt.12345.tmp", tmp_path / ".run.pt.ab12cd34.tmp"]  # an older naming and the current one
    for p in left:
        p.write_bytes(b"x" * 1000)
    other = tmp_path / ".other.pt.1.tmp"  # another file's temp file is not ours to remove
    other.write_bytes(b"y")
    torch.manual_seed(0)
    G, D = nets.toy_gan(hidden=8, depth=1)
    train(G, D, data.sample_ring(256, seed=0), steps=2, batch_size=8, checkpoint=tmp_path / "run.pt", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.pt.1.tmp", "run.pt"]


class Custom:
    pass


@pytest.mark.parametrize(
    "value, named",
    [
        (np.float64(0.5), "numpy.float64"),
        (np.int64(3), "numpy.int64"),
        (np.ones(2), "numpy.ndarray"),
        (Path("weights.pt"), "Path"),
        (Custom(), "Custom"),
        (collections.defaultdict(list), "defaultdict"),
    ],
)
def test_save_checkpoint_refuses_what_weights_only_loading_would_refuse(tmp_path, value, named):
    path = tmp_path / "c.pt"
    payload = {"G": {"w": torch.ones(2)}, "meta": {"lr": [1e-4, value]}}
    with pytest.raises(TypeError, match=rf"payload\['meta'\]\['lr'\]\[1\] is a .*{named}.*weights_only=True"):
        save_checkpoint(path, payload)
    assert not path.exists() and list(tmp_path.iterdir()) == []  # refused before anything was written
    with pytest.raises(TypeError, match="a dict"):
        save_checkpoint(path, [torch.ones(1)])


def test_what_save_checkpoint_accepts_loads_back(tmp_path):
    payload = {
        "t": torch.arange(3),
        "nested": {"a": [1, 2.5, None, True, "s", (3, 4)], "b": {1: torch.zeros(2, dtype=torch.bfloat16)}},
        "size": torch.Size([2, 3]),
        "dtype": torch.float16,
        "rng": torch.Generator().get_state(),
        "od": collections.OrderedDict(x=1),
    }
    save_checkpoint(tmp_path / "c.pt", payload)
    back = load_checkpoint(tmp_path / "c.pt")
    assert back["nested"]["a"] == [1, 2.5, None, True, "s", (3, 4)] and back["size"] == torch.Size([2, 3])
    assert torch.equal(back["t"], torch.arange(3)) and back["dtype"] is torch.float16


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"hello world\n" * 10, "KeyError: 101"),  # what torch.load says about a text file
        (b"", "EOFError"),
        ("truncated", "RuntimeError: PytorchStreamReader failed"),
    ],
)
def test_load_checkpoint_says_what_is_wrong_with_a_file(tmp_path, content, reason):
    path = tmp_path / "c.pt"
    if content == "truncated":
        save_checkpoint(path, {"w": torch.ones(1000)})
        content = path.read_bytes()[:500]
    path.write_bytes(content)
    expected = (
        rf"c\.pt \({len(content):,} bytes\) is not a checkpoint written by torch.save, or it was cut short.*{reason}"
    )
    with pytest.raises(ValueError, match=expected):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_load_checkpoint_names_objects_weights_only_refuses(tmp_path):
    path = tmp_path / "c.pt"
    torch.save({"x": np.float64(1.0)}, path)  # torch.save itself accepts anything picklable
    with pytest.raises(ValueError, match="objects other than tensors and plain containers"):
        load_checkpoint(path)
    assert os.path.getsize(path) > 0
