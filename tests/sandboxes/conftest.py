from collections.abc import Iterator

import pytest

from sandboxes.running import SandboxProcess


@pytest.fixture
def opened() -> Iterator[list[SandboxProcess]]:
    """Sandboxes to close after the test, whatever happens."""
    procs: list[SandboxProcess] = []
    yield procs
    for proc in procs:
        proc.close()
