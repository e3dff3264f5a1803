from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from hardware_mocks.frames import GS
from hardware_mocks.load import SAMPLE_CATALOG
from hardware_mocks.load import Catalog
from hardware_mocks.load import LoadPlan
from hardware_mocks.load import LoadReport
from hardware_mocks.load import ScanKind
from hardware_mocks.load import ScannerLoad
from stock_core.domain.gtin import is_valid_gtin

PRODUCT_KINDS = {ScanKind.PRODUCT, ScanKind.PRODUCT_GS1, ScanKind.PRODUCT_LINK}


def test_plan_is_reproducible_from_its_seed() -> None:
    plan = LoadPlan(scanners=3, rate_per_scanner=5, seconds=20, seed=7)
    assert plan.scans_for(1) == plan.scans_for(1)
    assert plan.scans_for(1) != LoadPlan(3, 5, 20, seed=8).scans_for(1)
    assert plan.scans_for(0) != plan.scans_for(1)


def test_plan_spaces_scans_at_the_rate_and_staggers_scanners() -> None:
    plan = LoadPlan(scanners=4, rate_per_scanner=2, seconds=10)
    for scanner in range(4):
        times = [scan.at for scan in plan.scans_for(scanner)]
        assert len(times) == 20
        assert times[0] == pytest.approx(scanner * 0.5 / 4)
        assert all(b - a == pytest.approx(0.5) for a, b in itertools.pairwise(times))
        assert times[-1] < 10


def test_a_worker_starts_with_a_mode_and_a_location() -> None:
    scans = LoadPlan(scanners=1, rate_per_scanner=10, seconds=10).scans_for(0)
    assert scans[0].kind is ScanKind.COMMAND
    assert scans[0].text.startswith("CMD:")
    assert scans[1].kind is ScanKind.LOCATION
    assert scans[1].text.removeprefix("LOC:") in SAMPLE_CATALOG.locations


def test_a_quantity_is_always_followed_by_a_good_product() -> None:
    scans = LoadPlan(scanners=1, rate_per_scanner=50, seconds=40, seed=3).scans_for(0)
    pairs = list(itertools.pairwise(scans))
    assert any(a.kind is ScanKind.QUANTITY for a, _ in pairs)
    assert all(b.kind in PRODUCT_KINDS for a, b in pairs if a.kind is ScanKind.QUANTITY)
    for scan in scans:
        if scan.kind is ScanKind.QUANTITY:
            assert 2 <= int(scan.text.removeprefix("QTY:")) <= 24


def test_the_mix_has_every_kind_and_about_the_bad_share() -> None:
    plan = LoadPlan(scanners=1, rate_per_scanner=100, seconds=50, seed=1, bad_share=0.1)
    scans = plan.scans_for(0)
    kinds = Counter(scan.kind for scan in scans)
    assert set(kinds) == set(ScanKind)
    products = (
        sum(kinds[k] for k in (*PRODUCT_KINDS, ScanKind.BAD_CHECK_DIGIT))
        + kinds[ScanKind.UNKNOWN_PRODUCT]
    )
    bad = kinds[ScanKind.BAD_CHECK_DIGIT] + kinds[ScanKind.UNKNOWN_PRODUCT]
    assert 0.06 < bad / products < 0.14


def test_scans_are_well_formed_for_their_kind() -> None:
    catalog = SAMPLE_CATALOG
    for scan in LoadPlan(scanners=1, rate_per_scanner=100, seconds=20, seed=2).scans_for(0):
        match scan.kind:
            case ScanKind.PRODUCT:
                assert scan.text in catalog.products
                assert scan.aim is None
            case ScanKind.PRODUCT_GS1:
                assert scan.aim in ("]C1", "]d2")
                assert scan.text.startswith("01")
                assert is_valid_gtin(scan.text[2:16])
                assert GS not in scan.text  # 01 and 17 are fixed length; 10 comes last
            case ScanKind.PRODUCT_LINK:
                assert scan.aim == "]Q1"
                assert scan.text.startswith("https://id.gs1.org/01/")
            case ScanKind.BAD_CHECK_DIGIT:
                assert not is_valid_gtin(scan.text)
            case ScanKind.UNKNOWN_PRODUCT:
                assert is_valid_gtin(scan.text)
                assert scan.text not in catalog.products
            case _:
                assert scan.aim is None


def test_a_catalog_of_alias_codes_gets_no_gs1_forms_or_bad_check_digits() -> None:
    catalog = Catalog(products=("ALIAS-1", "ALIAS-2"), locations=("A",))
    plan = LoadPlan(scanners=1, rate_per_scanner=100, seconds=10, catalog=catalog, gs1_share=1)
    kinds = {scan.kind for scan in plan.scans_for(0)}
    assert ScanKind.PRODUCT in kinds
    assert ScanKind.UNKNOWN_PRODUCT in kinds
    assert not kinds & {ScanKind.PRODUCT_GS1, ScanKind.PRODUCT_LINK, ScanKind.BAD_CHECK_DIGIT}


@pytest.mark.parametrize(
    "changes",
    [
        {"scanners": 0},
        {"rate_per_scanner": 0},
        {"seconds": float("inf")},
        {"bad_share": 1.5},
        {"gs1_share": -0.1},
        {"settle_timeout": -1},
    ],
)
def test_plan_refuses_nonsense(changes: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"scanners": 1, "rate_per_scanner": 1, "seconds": 1, **changes}
    with pytest.raises(ValueError, match="must"):
        LoadPlan(**arguments)


def test_plan_refuses_an_unknown_scanner_index() -> None:
    with pytest.raises(ValueError, match=r"not in 0\.\.1"):
        LoadPlan(scanners=2, rate_per_scanner=1, seconds=1).scans_for(2)


def test_catalog_refuses_to_be_empty() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Catalog(products=(), locations=("A",))


def test_report_totals_its_scanners() -> None:
    report = LoadReport(
        scanners=(
            ScannerLoad("a", {ScanKind.PRODUCT: 3, ScanKind.BAD_CHECK_DIGIT: 1}, 0, 0, 3, 1),
            ScannerLoad("b", {ScanKind.PRODUCT: 2, ScanKind.UNKNOWN_PRODUCT: 2}, 1, 0, 2, 2),
        ),
        elapsed=1.0,
    )
    assert report.frames_sent == 8
    assert report.sent[ScanKind.PRODUCT] == 5
    assert (report.acks, report.naks, report.bad_sent) == (5, 3, 3)
