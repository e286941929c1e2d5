"""Fixtures shared by the unit tests (the whole suite's live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def one_thread() -> Iterator[None]:
    """torch on one thread for the test: tiny nets run fastest so, and a loaded CI box does not
    spin OpenMP workers. Modules of net tests use it for every test
    (``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    from genoml_core import runtime

    previous = runtime.set_threads(1)
    yield
    runtime.set_threads(previous)
