"""A moto server on 127.0.0.1 per test session (per xdist worker); reconcilers talk to it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto_estate import Estate, reset_moto


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def estate(moto_url: str) -> Estate:
    """A fresh, empty moto account."""
    reset_moto(moto_url)
    return Estate(moto_url)
