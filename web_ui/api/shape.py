"""The kinds of model the API's routes declare: what a client sends, what the API answers,
and the paths that name one resource.

A request body refuses a field it does not declare (422), so a misspelt optional field is
an error rather than silently ignored. An answer is read from the attributes of a
:mod:`stock_core.model` value (``from_attributes``), as the service returns it.
"""

from __future__ import annotations

from pydantic import BaseModel
from pydantic import ConfigDict

from web_ui.api.types import Id
from web_ui.api.types import LocationCodeText
from web_ui.api.types import SkuText

__all__ = ["AtLocation", "BodyModel", "IdPath", "OutModel", "SkuPath"]


class BodyModel(BaseModel):
    """A request body: only the fields it declares (``extra="forbid"``)."""

    model_config = ConfigDict(extra="forbid")


class AtLocation(BodyModel):
    """A body of lines that all happen at one location (picks, receipts, counts): the
    location first, then the ``lines`` each kind declares."""

    location: LocationCodeText


class OutModel(BaseModel):
    """An answer, built with ``model_validate`` from a model value's attributes."""

    model_config = ConfigDict(from_attributes=True)


class IdPath(BaseModel):
    """A path naming one resource by its integer id (``.../{id}``)."""

    id: Id


class SkuPath(BaseModel):
    """A path naming one product by its SKU (``.../{sku}``)."""

    sku: SkuText
