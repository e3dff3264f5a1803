"""Capacity rules: unit sizes, refusals naming the figures, the batch planner's checks."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.batch import PlanItem
from stock_core.domain.batch import ProductFacts
from stock_core.domain.batch import plan_batch
from stock_core.domain.capacity import Capacity
from stock_core.domain.capacity import Load
from stock_core.domain.capacity import UnitSize
from stock_core.domain.capacity import load_of
from stock_core.domain.capacity import room_refusal
from stock_core.domain.capacity import unit_size
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.errors import CapacityExceededError
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.unit.stock_core.steps import step_command

D = Decimal
BIN = (7, "BIN-1")


def test_a_unit_weighs_its_weight_and_takes_its_dimensions_volume() -> None:
    assert unit_size(D(120), D(50), D(40), D(30)) == UnitSize(D(120), D(60))
    assert unit_size(None, D(50), None, D(30)) == UnitSize(D(0), D(0))
    assert load_of([(UnitSize(D(2), D(3)), 4), (UnitSize(D(1), D(0)), 5)]) == Load(D(13), D(12))


def test_a_receipt_beyond_a_limit_is_refused_naming_the_location_and_figures() -> None:
    capacity = Capacity("BIN-1", max_weight_g=D(1000), max_volume_cm3=D(500))
    size = UnitSize(D(120), D(60))
    assert room_refusal(capacity, Load(), size, 8) is None  # 960 g, 480 cm3: fits
    refused = room_refusal(capacity, Load(D(100), D(0)), size, 8)
    assert isinstance(refused, CapacityExceededError)
    assert refused.reason == "BIN-1 is full: weight 1060 g > max 1000 g"
    assert (refused.weight_g, refused.max_weight_g) == (1060.0, 1000.0)
    assert refused.to_dict()["problem_type"] == "capacity-exceeded"
    both = room_refusal(capacity, Load(), size, 9)
    assert both is not None
    assert both.reason == "BIN-1 is full: weight 1080 g > max 1000 g; volume 540 cm3 > max 500 cm3"
    only_volume = Capacity("BIN-2", max_volume_cm3=D("0.5"))
    assert room_refusal(only_volume, Load(), UnitSize(D(9999), D(0)), 100) is None
    assert not Capacity("X").limited


_PRODUCTS = {1: UnitSize(D(100), D(10)), 2: UnitSize(D(30), D(0)), 3: UnitSize()}
_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["receive", "pick", "adjust"]),
        st.sampled_from([1, 2, 3]),
        st.integers(1, 12),
    ),
    max_size=30,
)


@given(_STEPS, st.integers(0, 2000), st.integers(0, 200))
def test_a_location_never_exceeds_its_capacity_after_any_accepted_batch(
    steps: list[tuple[str, int, int]], max_weight: int, max_volume: int
) -> None:
    facts = [ProductFacts(p, f"P{p}", 0, on_hand=0, reserved=0) for p in _PRODUCTS]
    items = []
    for n, (kind, product, units) in enumerate(steps):
        ref, where = ProductRef(sku=Sku(f"P{product}")), LocationCode(BIN[1])
        envelope = Envelope(IdempotencyKey(f"k{n}"), step_command(kind, ref, where, units))
        items.append(PlanItem(envelope, facts[product - 1], 1, BIN))
    capacity = {BIN[0]: Capacity(BIN[1], D(max_weight), D(max_volume))}
    plan = plan_batch(items, facts, [], None, None, capacity, {BIN[0]: Load()}, _PRODUCTS)
    held = dict.fromkeys(_PRODUCTS, 0)
    for (kind, product, units), outcome in zip(steps, plan.outcomes, strict=True):
        if isinstance(outcome, CapacityExceededError):
            assert kind == "receive"
            after = load_of((_PRODUCTS[p], n) for p, n in held.items()).plus(
                _PRODUCTS[product], units
            )
            assert after.weight_g > max_weight or after.volume_cm3 > max_volume
            continue
        if isinstance(outcome, list):
            for row in outcome:
                held[row.product_id] += row.delta
            load = load_of((_PRODUCTS[p], n) for p, n in held.items())
            if kind == "receive":
                assert load.weight_g <= max_weight
                assert load.volume_cm3 <= max_volume


def test_a_pick_earlier_in_the_batch_makes_room_for_a_receipt() -> None:
    fact = ProductFacts(1, "P1", 0, on_hand=0, reserved=0)
    ref, where = ProductRef(sku=Sku("P1")), LocationCode(BIN[1])
    commands: list[Receive | Pick] = [
        Receive(ref, where, 5),
        Receive(ref, where, 1),
        Pick(ref, where, 2),
        Receive(ref, where, 2),
    ]
    items = [
        PlanItem(Envelope(IdempotencyKey(f"r{n}"), c), fact, 1, BIN) for n, c in enumerate(commands)
    ]
    capacity = {BIN[0]: Capacity(BIN[1], max_weight_g=D(500))}
    plan = plan_batch(items, [fact], [], None, None, capacity, {}, {1: UnitSize(D(100))})
    refused = [isinstance(o, CapacityExceededError) for o in plan.outcomes]
    assert refused == [False, True, False, False]
