from __future__ import annotations

import pytest

from hardware_mocks.frames import GS
from hardware_mocks.script import Noise
from hardware_mocks.script import Raw
from hardware_mocks.script import Replug
from hardware_mocks.script import Scan
from hardware_mocks.script import ScriptError
from hardware_mocks.script import Sleep
from hardware_mocks.script import Unplug
from hardware_mocks.script import parse_script

SCRIPT = """\
# receive two cases at the dock
CMD:RECEIVE

  LOC:DOCK-1
QTY:2
05012345678900
(01)15012345678907(10)LOT42(17)261231
]d2(01)15012345678907(10)LOT42
]E05012345678900
LOT\\x1dA\\\\B
@sleep 0.5
@unplug
@REPLUG
@noise 20
@raw 1b 37 2c
"""


def test_parse_script_reads_scans_and_directives_with_line_numbers() -> None:
    assert parse_script(SCRIPT) == [
        Scan(2, "CMD:RECEIVE"),
        Scan(4, "LOC:DOCK-1"),
        Scan(5, "QTY:2"),
        Scan(6, "05012345678900"),
        Scan(7, f"011501234567890710LOT42{GS}17261231"),
        Scan(8, "011501234567890710LOT42", aim="]d2"),
        Scan(9, "5012345678900", aim="]E0"),
        Scan(10, f"LOT{GS}A\\B"),
        Sleep(11, 0.5),
        Unplug(12),
        Replug(13),
        Noise(14, 20),
        Raw(15, b"\x1b7,"),
    ]


def test_parse_script_of_nothing_is_no_steps() -> None:
    assert parse_script("") == []
    assert parse_script("# only\n   \n# comments\n") == []


def test_escapes_let_a_scan_start_with_at_or_hash() -> None:
    assert parse_script("\\x40home\n\\x23tag\n") == [Scan(1, "@home"), Scan(2, "#tag")]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("LOC:A\n@sleep\n", 2, "needs seconds"),
        ("@sleep -1", 1, "non-negative"),
        ("@sleep nan", 1, "finite"),
        ("@noise x", 1, "byte count"),
        ("@noise 0", 1, "1 to 65536"),
        ("@raw zz", 1, "hex"),
        ("@raw", 1, "at least one byte"),
        ("@unplug now", 1, "no argument"),
        ("\n\n@dance", 3, "unknown directive @dance"),
        ("]E", 1, "AIM identifier"),
        ("]E0", 1, "empty scan"),
        ("(01)123", 1, "takes 14"),
        ("a\\qb", 1, "backslash"),
    ],
)
def test_parse_script_names_the_bad_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError, match=message) as caught:
        parse_script(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")


def test_script_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_script("@bogus")
