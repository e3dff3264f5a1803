"""The spool directory's epoch and identity files."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner_gateway.spool import claim_epoch
from scanner_gateway.spool import spool_identity


def test_claim_epoch_increases_every_time_and_survives(tmp_path: Path) -> None:
    assert [claim_epoch(tmp_path) for _ in range(3)] == [1, 2, 3]
    assert (tmp_path / "epoch").read_text() == "3\n"
    assert claim_epoch(tmp_path) == 4
    assert not (tmp_path / "epoch.tmp").exists()


def test_claim_epoch_refuses_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "epoch").write_text("seven\n")
    with pytest.raises(ValueError, match="corrupt"):
        claim_epoch(tmp_path)


def test_spool_identity_is_made_once_and_kept(tmp_path: Path) -> None:
    first = spool_identity(tmp_path)
    assert len(first) == 12
    assert spool_identity(tmp_path) == first
    assert spool_identity(tmp_path / "elsewhere") != first  # a lost directory: a new name
