"""The HA suites bring up a Patroni stack (deploy/ha) of their own: opt-in.

``STOCKD_HA_TESTS=1`` runs the kill-leader drill and the pooler suite (about 95 s and
55 s on the 2-core test machine); ``STOCKD_HA_TESTS=all`` every drill (four, about
90 s each) and the kill-leader drill on three nodes (75 s). ``make test-ha`` does the
first. They are kept out of ``make test`` so that CI (``make test``, the checks, the
server leg) stays under 20 minutes.
"""

from __future__ import annotations

import os

import pytest

from tests.ha.cluster import missing_tools

HA_TESTS = os.environ.get("STOCKD_HA_TESTS", "")
"""``""`` (off), ``"1"`` (the kill-leader drill and the poolers) or ``"all"``."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    missing = missing_tools()
    for item in items:
        if not str(item.path).startswith(here):
            continue
        if not HA_TESTS:
            item.add_marker(pytest.mark.skip(reason="set STOCKD_HA_TESTS=1 (or all): make test-ha"))
        elif missing:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"needs {', '.join(missing)} (scripts/ensure-test-tools installs them)"
                )
            )
