"""reconciler.shapes: the quick test of a record decides as the full check does (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.providers.intouch.client import CONTACT, GROUP
from reconciler.providers.smsconnector.client import FOLDER
from reconciler.saved_plan import _CHANGE, _META
from reconciler.shapes import ANY, INT, NONE, OPTIONAL_BOOL, Shape, ShapeError, records

MIXED = Shape(
    "thing", {"Id": INT, "Blob": ANY, "Flag": (bool,)}, {"Note": (str, int, NONE), "On": OPTIONAL_BOOL}
)
SHAPES = [CONTACT, GROUP, FOLDER, _CHANGE, _META, MIXED]
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2), max_leaves=3)


def objects(shape: Shape) -> st.SearchStrategy[Any]:
    names = [*shape.required, *shape.optional, "Other"]
    return st.dictionaries(st.sampled_from(names), JSON, max_size=len(names)) | JSON


def passes(shape: Shape, value: Any) -> bool:
    try:
        shape.check(value)
    except ShapeError:
        return False
    return True


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_valid_agrees_with_check_on_json(shape: Shape, data: st.DataObject) -> None:
    value = data.draw(objects(shape))
    assert shape.valid(value) == passes(shape, value)


def test_records_names_the_bad_item() -> None:
    good = {"GroupId": 1, "Name": "A"}
    with pytest.raises(ShapeError, match=r"groups item 2: group GroupId is text, expected an integer"):
        records([good, {"GroupId": "2"}], GROUP, "groups")
    assert records([good], GROUP) == [good]


def test_true_is_not_an_integer() -> None:
    assert not GROUP.valid({"GroupId": True, "Name": "A"})
    assert MIXED.valid({"Id": 1, "Blob": None, "Flag": False, "Note": 3})
    assert not MIXED.valid({"Id": 1, "Flag": False})  # Blob may be anything, but must be there
