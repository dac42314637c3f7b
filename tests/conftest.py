"""Shared fixtures: the course's root folder and a clean data/profile state per test."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _fresh_runtime_state(monkeypatch):
    """Each test starts with no profile override and no remembered network failure."""
    from gancourse import data, runtime

    monkeypatch.setattr(runtime, "_override", None)
    monkeypatch.setattr(data, "_network_failure", None)
