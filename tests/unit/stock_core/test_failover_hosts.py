"""A multi-host database URL split into one URL per host, each tried on its own."""

from __future__ import annotations

import pytest

from stock_core.store.failover import split_hosts


@pytest.mark.parametrize(
    ("url", "hosts"),
    [
        (
            "postgresql://u:pw@db1:5432,db2:5433/stockd?target_session_attrs=read-write",
            ["postgresql://u:pw@db1:5432/stockd", "postgresql://u:pw@db2:5433/stockd"],
        ),
        (
            "postgresql://u@db1,db2/stockd?sslmode=require&target_session_attrs=primary",
            [
                "postgresql://u@db1/stockd?sslmode=require",
                "postgresql://u@db2/stockd?sslmode=require",
            ],
        ),
        ("postgres://db1/stockd", ["postgres://db1/stockd"]),
        (
            "postgresql://u@[::1]:5432,db2/x",
            ["postgresql://u@[::1]:5432/x", "postgresql://u@db2/x"],
        ),
        (
            "postgresql://postgres:@/stockd?host=/tmp/pg",
            ["postgresql://postgres:@/stockd?host=/tmp/pg"],
        ),
        ("host=db1 dbname=stockd", ["host=db1 dbname=stockd"]),
        ("postgresql://u@db1,,db2", ["postgresql://u@db1", "postgresql://u@db2"]),
    ],
)
def test_each_host_gets_its_own_url(url: str, hosts: list[str]) -> None:
    assert split_hosts(url) == hosts
