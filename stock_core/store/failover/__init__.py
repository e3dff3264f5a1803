"""Connections to a replicated PostgreSQL that never leave a caller waiting on a sick server.

:class:`Connector` is what a pool calls instead of ``asyncpg.connect``:

* **Each host its own deadline.** A multi-host URL (``postgresql://h1,h2/db``) is tried
  host by host, each with ``connect_timeout`` (asyncpg's own multi-host connect shares
  one timeout among all hosts, so a hung first host used it all and the second was
  never tried). The host that answered last is tried first next time.
* **The primary, on the right history.** A writer's connection must be read-write and
  not in recovery, and its server's lineage (system identifier and timeline, see
  :mod:`stock_core.domain.lineage`) must not be behind the one the writer last wrote
  on: an old primary that comes back after a failover, still read-write, is refused
  and the next host tried. A later timeline (a failover) or another system is taken,
  and listeners hear of it (the gateway replays its recent window). The lineage can
  be kept in a file, so a restarted gateway refuses an old primary too.
* **A pooler is noticed.** Behind pgbouncer (a transaction pooler hands each
  transaction to any server connection, so a prepared statement of one transaction is
  missing in the next) asyncpg's prepared statement cache is turned off by itself: a
  pooler answers the start-up with a backend key of its own, which is not the server
  backend's ``pg_backend_pid()``.
* **TCP keepalives** on every connection (and a TCP user timeout): a server that
  vanished from the network is noticed in seconds, not hours.
* **Every statement a deadline.** Pools give asyncpg ``statement_timeout`` as its
  ``command_timeout`` and make :class:`DeadlineConnection` connections: a statement that misses
  it (or whose caller gives up on it) fails with ``TimeoutError`` and its connection is
  dropped at once, never given back to the pool.
* **Unconfirmed commits are noticed.** PostgreSQL answers a commit whose wait for a
  synchronous standby was cancelled with a WARNING, after committing it locally only:
  its fate on the cluster is unknown. :func:`bounded` listens for that warning and
  turns it into :class:`CommitUnconfirmedError`.

:func:`bounded` is a pooled connection with a deadline that ends in
``terminate()``: the socket is closed at once, the waiting call fails, and releasing
the connection costs nothing. asyncpg's own timeouts *cancel* the query, which sends a
cancel request to the server and then waits for it, and a rollback after it: on a
hung server that wait lasted until ``command_timeout`` (60 s).

Modules: :mod:`.connector` makes the connections (hosts, lineage, poolers, keepalives),
:mod:`.deadline` bounds them in use (:class:`DeadlineConnection`, :func:`bounded`) and
:mod:`.replica` routes the reads a replica may serve (:class:`ReplicaRouter`).
"""

from __future__ import annotations

from stock_core.store.failover.connector import BACKEND_IS
from stock_core.store.failover.connector import PROBE_SERVER
from stock_core.store.failover.connector import ConnectOptions
from stock_core.store.failover.connector import Connector
from stock_core.store.failover.connector import connector_of
from stock_core.store.failover.connector import split_hosts
from stock_core.store.failover.deadline import DeadlineConnection
from stock_core.store.failover.deadline import bounded
from stock_core.store.failover.replica import REPLICA_LAG
from stock_core.store.failover.replica import ReplicaRouter

__all__ = [
    "BACKEND_IS",
    "PROBE_SERVER",
    "REPLICA_LAG",
    "ConnectOptions",
    "Connector",
    "DeadlineConnection",
    "ReplicaRouter",
    "bounded",
    "connector_of",
    "split_hosts",
]
