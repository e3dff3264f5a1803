"""Which PostgreSQL history a writer is on, and whether a server may be written to.

A PostgreSQL cluster is named by its *system identifier* (made by ``initdb``, kept by
every replica cloned from it) and its history by a *timeline*: promoting a standby
starts a new timeline, one higher than the one it followed. A writer that remembers
the (system identifier, timeline) it last wrote on can tell, on every new connection:

* the same lineage: go on;
* a later timeline of the same system: a failover happened. Whatever the writer
  committed on the old timeline shortly before it may be missing (an asynchronous
  standby had not received it): replay the recent window, idempotency keys make it
  exact;
* an earlier timeline of the same system: a node *behind* it, typically the old
  primary come back still saying read-write. Writing there would put work on a
  history that is about to be thrown away: refuse it, try another host;
* another system: a different cluster (restored from a backup, or rebuilt). The
  writer cannot compare timelines across systems; it takes it, as it would a
  failover (replay the window).

Pure: no I/O. ``stock_core.store.failover`` asks the server and keeps the state.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

__all__ = ["Lineage", "LineageVerdict", "judge", "lineage_from_text", "lineage_to_text"]


@dataclass(frozen=True, order=True)
class Lineage:
    """A primary's history: its cluster's system identifier and its timeline."""

    system_id: int
    timeline: int

    def __str__(self) -> str:
        return f"system {self.system_id} timeline {self.timeline}"


class LineageVerdict(enum.Enum):
    SAME = "same"
    """The lineage the writer knows (or the first it sees)."""
    NEWER = "newer"
    """A later timeline of the same system: a failover since the last write."""
    OTHER_SYSTEM = "other-system"
    """Another cluster altogether (restored or rebuilt)."""
    BEHIND = "behind"
    """An earlier timeline of the same system: never write there."""


def judge(known: Lineage | None, seen: Lineage) -> LineageVerdict:
    """What a server on ``seen`` means to a writer that last wrote on ``known``."""
    if known is None or known == seen:
        return LineageVerdict.SAME
    if known.system_id != seen.system_id:
        return LineageVerdict.OTHER_SYSTEM
    if seen.timeline > known.timeline:
        return LineageVerdict.NEWER
    return LineageVerdict.BEHIND


def lineage_to_text(lineage: Lineage) -> str:
    """One line of JSON, as kept on disk."""
    return json.dumps({"system_id": str(lineage.system_id), "timeline": lineage.timeline}) + "\n"


def lineage_from_text(text: str) -> Lineage | None:
    """What :func:`lineage_to_text` wrote; ``None`` for anything else (a damaged file)."""
    try:
        data = json.loads(text)
        system_id = int(data["system_id"])
        timeline = int(data["timeline"])
    except (ValueError, TypeError, KeyError):
        return None
    if system_id < 0 or timeline < 1:
        return None
    return Lineage(system_id, timeline)
