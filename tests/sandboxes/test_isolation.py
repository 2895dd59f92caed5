"""The directories sandboxes are staged from must be ours alone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from sandboxes import isolation


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_it_creates_then_reuses_an_owned_dir(tmp: Path) -> None:
    path = isolation.owned_dir("agentexec", 0o700)
    assert path == str(tmp / f"agentexec-{os.geteuid()}")
    assert os.stat(path).st_mode & 0o777 == 0o700
    assert isolation.owned_dir("agentexec", 0o700) == path


def test_it_refuses_a_dir_others_may_change(tmp: Path) -> None:
    path = tmp / f"agentexec-stage-{os.geteuid()}"
    path.mkdir()
    path.chmod(0o777)
    with pytest.raises(OSError, match="is not a directory of uid"):
        isolation.stage_root()


def test_it_refuses_a_symlink(tmp: Path) -> None:
    (tmp / "elsewhere").mkdir(mode=0o700)
    (tmp / f"agentexec-{os.geteuid()}").symlink_to(tmp / "elsewhere")
    with pytest.raises(OSError, match="is not a directory of uid"):
        isolation.owned_dir("agentexec", 0o700)


def test_the_stage_root_is_world_traversable(tmp: Path) -> None:
    assert os.stat(isolation.stage_root()).st_mode & 0o777 == 0o755
