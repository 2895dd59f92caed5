"""Choosing a backend by name."""

from __future__ import annotations

import pytest

from sandboxes import factory
from sandboxes.factory import get_provider
from tests.sandboxes.booting import HAS_BWRAP


def test_it_maps_each_name_to_its_backend() -> None:
    assert get_provider("process").name == "process"
    assert get_provider("auto").name == ("bwrap" if HAS_BWRAP else "process")
    assert factory.PROVIDER_NAMES == ("auto", "bwrap", "process")


def test_auto_falls_back_to_process_without_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "bwrap_available", lambda uid, gid: False)
    assert factory.resolve("auto") == "process"
    assert factory.resolve("bwrap") == "bwrap"  # asked for by name: no silent fallback


def test_it_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"'docker' \(expected auto, bwrap or process\)"):
        get_provider("docker")
