import pytest
import torch

from gancourse import budget, env_report, get_device, profile, seed_everything, set_profile


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
