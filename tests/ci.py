"""Whether the tests run in CI, where a missing test tool fails a test instead of skipping it."""

from __future__ import annotations

import os

__all__ = ["in_ci"]


def in_ci() -> bool:
    """``CI`` is set to a true value (GitHub Actions, GitLab and most others set ``true``)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
