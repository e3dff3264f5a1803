"""The durable local spool: scans taken while PostgreSQL is unreachable.

A scan is appended and fsynced here *before* its scanner hears ``ack``; the records
are replayed in order when the database returns, and passed over only once the
database has answered for them. The spool is a write-ahead log:

* **Segments.** Records are appended to numbered segment files
  (``segment-00000001.wal`` …), a new one every ``segment_bytes`` (16 MiB). Each
  segment starts with a header naming the format version; a segment of a version this
  stockd does not know stops start-up with :class:`SpoolFormatError` (nothing is
  dropped unread).
* **Records.** A record marker, the payload length, the payload's CRC32 and a CRC32 of
  those three (so a damaged length is never believed), then the payload: ASCII JSON
  of the envelope and the time it was spooled. The marker has a byte no JSON text
  has, so a reader that meets damage scans forward to the next marker and goes on:
  one damaged record costs at most that record.
* **Checkpoint.** ``checkpoint`` names the segment and offset of the next record to
  replay; it is replaced (write-temp-then-rename) at least every
  ``checkpoint_interval`` (0.25 s) while draining and before any segment wholly
  before it is deleted; the segment appends go to is emptied in place once drained.
  Replay is O(n) and holds one batch in memory; a crash replays at most the last
  interval again, which idempotency keys make harmless.
* **Damage.** A damaged stretch is copied to ``quarantine/`` and reported (an ERROR
  line, a counter, and, where its fields can still be read, a spool exception for a
  manager); a torn tail (a crash mid-append, never acknowledged) is cut off with a
  WARNING line.
* **Failed appends.** A write or fsync that fails is cut back to the last good
  offset before the scan is refused, so a refused scan is never replayed.
* **Cap.** Past ``cap_bytes`` (1 GiB) on disk, appends are refused
  (:class:`SpoolFullError`: the scanner hears ``nak``) and :meth:`Spool.status` says
  ``full``; ``alarm`` from ``alarm_ratio`` of the cap.
* **One owner.** An exclusive ``flock`` on ``lock`` while open: a second gateway on
  the same directory gets :class:`SpoolLockedError`.
* **Upgrade.** ``spool.log``, the single-file spool of earlier versions, is read as
  the segment before the first (with its own codec) and deleted once drained.

The package, room by room:

* ``codec``: the pure record codec (``encode_*``, ``decode_*``, :func:`read_frames`,
  :func:`salvage`): bytes in, values out.
* ``files``: the directory's files (segment names, durable writes, the checkpoint
  file, reading segments record by record, the epoch and the identity).
* ``state``: what the writer and the reader share (counts under one lock, the
  status, the checkpoint, the quarantine).
* ``append``: append-and-fsync, the one writer, in a worker thread.
* ``replay``: in-order replay, the one reader, moving the checkpoint on.
* ``directory``: :class:`Spool`, the two joined, with open (lock, check, recover)
  and close.
"""

from __future__ import annotations

from scanner_gateway.spool.codec import DEFAULT_CAP_BYTES
from scanner_gateway.spool.codec import DEFAULT_SEGMENT_BYTES
from scanner_gateway.spool.codec import FORMAT_VERSION
from scanner_gateway.spool.codec import MAX_PAYLOAD
from scanner_gateway.spool.codec import RECORD_HEADER_SIZE
from scanner_gateway.spool.codec import SEGMENT_HEADER_SIZE
from scanner_gateway.spool.codec import Damage
from scanner_gateway.spool.codec import Frame
from scanner_gateway.spool.codec import SegmentHeader
from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import decode_payload
from scanner_gateway.spool.codec import decode_segment_header
from scanner_gateway.spool.codec import encode_payload
from scanner_gateway.spool.codec import encode_record
from scanner_gateway.spool.codec import encode_segment_header
from scanner_gateway.spool.codec import read_frames
from scanner_gateway.spool.codec import salvage
from scanner_gateway.spool.directory import Spool
from scanner_gateway.spool.files import claim_epoch
from scanner_gateway.spool.files import pending_records
from scanner_gateway.spool.files import spool_identity
from scanner_gateway.spool.state import Quarantined
from scanner_gateway.spool.state import SpoolStatus

__all__ = [
    "DEFAULT_CAP_BYTES",
    "DEFAULT_SEGMENT_BYTES",
    "FORMAT_VERSION",
    "MAX_PAYLOAD",
    "RECORD_HEADER_SIZE",
    "SEGMENT_HEADER_SIZE",
    "Damage",
    "Frame",
    "Quarantined",
    "SegmentHeader",
    "Spool",
    "SpoolRecord",
    "SpoolStatus",
    "claim_epoch",
    "decode_payload",
    "decode_segment_header",
    "encode_payload",
    "encode_record",
    "encode_segment_header",
    "pending_records",
    "read_frames",
    "salvage",
    "spool_identity",
]
