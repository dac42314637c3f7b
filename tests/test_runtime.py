import numpy as np
import pytest
import torch

from gancourse import budget, claim, env_report, get_device, profile, seed_everything, set_profile, train_steps
from gancourse.runtime import dry_run


def test_seed_everything_reproduces_draws():
    seed_everything(5)
    a = (torch.randn(4), torch.rand(2))
    seed_everything(5)
    b = (torch.randn(4), torch.rand(2))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    seed_everything(6)
    assert not torch.equal(torch.randn(4), a[0])


@pytest.mark.parametrize(
    "bad, err", [("1", TypeError), (1.5, TypeError), (True, TypeError), (-1, ValueError), (2**32, ValueError)]
)
def test_seed_everything_rejects_bad_seeds(bad, err):
    with pytest.raises(err, match="seed"):
        seed_everything(bad)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"GANCOURSE_PROFILE": "fast"}, "fast"),
        ({"GANCOURSE_PROFILE": "cpu", "CI": "true"}, "cpu"),
        ({"CI": "true"}, "fast"),
        ({"CI": "false"}, "gpu" if torch.cuda.is_available() else "cpu"),
        ({}, "gpu" if torch.cuda.is_available() else "cpu"),
    ],
)
def test_profile_follows_the_environment(monkeypatch, env, expected):
    monkeypatch.delenv("GANCOURSE_PROFILE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert profile() == expected


def test_set_profile_overrides_and_restores(monkeypatch):
    monkeypatch.setenv("GANCOURSE_PROFILE", "fast")
    assert set_profile("gpu") == "gpu" and profile() == "gpu"
    assert set_profile(None) == "fast"


def test_unknown_profiles_are_rejected(monkeypatch):
    with pytest.raises(ValueError, match="turbo"):
        set_profile("turbo")
    with pytest.raises(TypeError, match="profile"):
        set_profile(3)
    monkeypatch.setenv("GANCOURSE_PROFILE", "quick")
    with pytest.raises(ValueError, match="GANCOURSE_PROFILE.*quick"):
        profile()


def test_budget_picks_the_current_profile():
    for name, expected in [("fast", 1), ("cpu", 2), ("gpu", 3)]:
        set_profile(name)
        assert budget(fast=1, cpu=2, gpu=3) == expected
    assert budget(fast=1, cpu=2) == 2  # gpu defaults to the cpu size
    set_profile("fast")
    assert budget(fast=(8, 16), cpu=(64, 128)) == (8, 16)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"fast": -1, "cpu": 2}, ValueError, "fast"),
        ({"fast": 1, "cpu": float("nan")}, ValueError, "cpu"),
        ({"fast": 1, "cpu": 2, "gpu": -5}, ValueError, "gpu"),
        ({"fast": True, "cpu": 2}, TypeError, "fast"),
        ({"fast": None, "cpu": 2}, ValueError, "fast"),
    ],
)
def test_budget_rejects_bad_sizes(kwargs, err, match):
    with pytest.raises(err, match=match):
        budget(**kwargs)


def test_budget_is_keyword_only():
    with pytest.raises(TypeError):
        budget(1, 2, 3)


def test_get_device():
    assert get_device("cpu").type == "cpu"
    assert get_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="prefer"):
        get_device("tpu")
    with pytest.raises(TypeError, match="prefer"):
        get_device(0)
    if not torch.backends.mps.is_available():
        with pytest.raises(RuntimeError, match="MPS"):
            get_device("mps")


def test_env_report_is_one_line():
    set_profile("cpu")
    line = env_report("cpu")
    assert "\n" not in line
    assert f"torch {torch.__version__}" in line and "profile cpu" in line and "device cpu" in line


# ---- dry runs: the profile's code with training cut to a few steps (GANCOURSE_DRYRUN)


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("no", False), ("1", True), ("TRUE", True)])
def test_dry_run_follows_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("GANCOURSE_DRYRUN", value)
    assert dry_run() is expected


def test_a_misspelt_dry_run_is_refused(monkeypatch):
    monkeypatch.setenv("GANCOURSE_DRYRUN", "please")
    with pytest.raises(ValueError, match="GANCOURSE_DRYRUN.*please"):
        dry_run()


def test_train_steps_is_budget_until_a_dry_run_cuts_it(monkeypatch, capsys):
    for name, expected in [("fast", 40), ("cpu", 1600), ("gpu", 30_000)]:
        set_profile(name)
        assert train_steps(fast=40, cpu=1600, gpu=30_000) == expected
    assert train_steps(fast=40, cpu=1600) == 1600  # gpu defaults to the cpu length
    monkeypatch.setenv("GANCOURSE_DRYRUN", "1")
    assert train_steps(fast=40, cpu=1600, gpu=30_000) == 40  # the fast profile's length
    assert train_steps(fast=40, cpu=1600, gpu=30_000, dry=8) == 8
    assert "dry run: 8 training steps in place of the gpu profile's 30,000" in capsys.readouterr().out
    assert budget(fast=256, cpu=1000, gpu=5000) == 5000, "sizes stay the profile's"


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"fast": 1.5, "cpu": 2}, TypeError, "fast"),
        ({"fast": 1, "cpu": -2}, ValueError, "cpu"),
        ({"fast": 1, "cpu": 2, "gpu": True}, TypeError, "gpu"),
        ({"fast": 1, "cpu": 2, "dry": -1}, ValueError, "dry"),
    ],
)
def test_train_steps_rejects_bad_lengths(kwargs, err, match):
    with pytest.raises(err, match=match):
        train_steps(**kwargs)


def test_a_dry_run_refuses_long_training(monkeypatch):
    monkeypatch.setenv("GANCOURSE_DRYRUN", "1")
    with pytest.raises(ValueError, match="dry=1000.*at most 200"):
        train_steps(fast=1000, cpu=2000)
    from gancourse import nets
    from gancourse.train import train

    G, D = nets.toy_gan(hidden=8, depth=1)
    with pytest.raises(ValueError, match="steps=5000: a dry run.*train_steps"):
        train(G, D, torch.randn(64, 2), steps=5000, progress=False)
    assert train(G, D, torch.randn(64, 2), steps=3, batch_size=8, progress=False).steps == 3


def test_claim_raises_in_a_real_run_and_reports_in_a_dry_run(monkeypatch, capsys):
    claim(True, "holds")
    claim(torch.tensor(True), "a one-element tensor")
    claim(np.bool_(True), "a NumPy bool")
    with pytest.raises(AssertionError, match="the score should rise"):
        claim(False, "the score should rise")
    monkeypatch.setenv("GANCOURSE_DRYRUN", "1")
    claim(False, "the score should rise")
    claim(True, "the loss should fall")
    out = capsys.readouterr().out
    assert "claim not judged (fails after a few steps): the score should rise" in out
    assert "(holds after a few steps): the loss should fall" in out


@pytest.mark.parametrize(
    "args, err, match",
    [
        (("the score should rise", True), TypeError, "condition first"),
        ((True, 3), TypeError, "message"),
        ((0.5, "a float is not a truth value"), TypeError, "needs a bool, got float"),
        ((torch.tensor([True, False]), "two values"), ValueError, "one truth value"),
        (([True], "a list"), TypeError, "needs a bool, got list"),
    ],
)
def test_claim_rejects_what_is_not_a_claim(args, err, match):
    with pytest.raises(err, match=match):
        claim(*args)


def test_env_report_says_dry_run(monkeypatch):
    monkeypatch.setenv("GANCOURSE_DRYRUN", "1")
    set_profile("gpu")
    assert "profile gpu (dry run: training cut to a few steps)" in env_report("cpu")
