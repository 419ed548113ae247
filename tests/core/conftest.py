"""Fixtures for guardlib's core tests."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def restore_environ() -> Iterator[None]:
    """Snapshot os.environ and restore it exactly (for code that writes os.environ itself)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def isolated_logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A fresh, non-propagating logger with no handlers; cleaned up afterwards."""
    logger = logging.getLogger(f"guardlib-test.{request.node.name}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        for flt in list(logger.filters):
            logger.removeFilter(flt)
