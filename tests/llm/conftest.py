"""Fixtures for the LLM provider tests: every HTTP request must hit a respx stub."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

# The stub helpers sit next to the tests; the tests folder is not a package.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock
