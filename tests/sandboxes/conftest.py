from collections.abc import Iterator

import pytest

from sandboxes.protocol import RunningSandbox


@pytest.fixture
def opened() -> Iterator[list[RunningSandbox]]:
    """Sandboxes to close after the test, whatever happens."""
    procs: list[RunningSandbox] = []
    yield procs
    for proc in procs:
        proc.close()
