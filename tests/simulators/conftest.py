from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators import ProviderSimulators
from tests.simulators.receiver import Receiver


@pytest.fixture(scope="module")
def running() -> Iterator[ProviderSimulators]:
    with ProviderSimulators() as sims:
        yield sims


@pytest.fixture
def sims(running: ProviderSimulators) -> ProviderSimulators:
    running.reset()
    return running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
