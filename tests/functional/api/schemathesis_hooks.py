"""schemathesis hooks: how to make the string formats the API document names.

Loaded by ``schemathesis run`` (``hooks`` in the config written by
``test_schemathesis.py``). A format states a rule JSON Schema cannot (a GS1 check
digit); the strategy here makes values that keep it, so positive data is valid data.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from stock_core.domain.gtin import check_digit

__all__ = ["ALIAS", "GLN", "GTIN"]


def _with_check_digit(body: str) -> str:
    return body + str(check_digit(body))


GLN = st.from_regex(r"\A[0-9]{12}\Z").map(_with_check_digit)
GTIN = st.sampled_from([7, 11, 12, 13]).flatmap(
    lambda n: st.from_regex(rf"\A[0-9]{{{n}}}\Z").map(_with_check_digit)
)
ALIAS = st.from_regex(r"\A[A-Za-z][\x21-\x29\x2b-\x7b\x7d\x7e]{0,30}\Z")

schemathesis.openapi.format("gs1-gln", GLN)
schemathesis.openapi.format("stockd-barcode", st.one_of(GTIN, ALIAS))
