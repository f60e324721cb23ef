"""Pairing desired items with live ones: the same result as a lookup per key, whatever the orders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.model import Resource
from reconciler.pairing import GIVE_UP, Pairing


def live_items(keys: list[str]) -> dict[str, Resource]:
    return {key: Resource("a", "t", key, {"n": key}, ident=f"id-{key}") for key in keys}


def by_lookup(
    desired: Mapping[str, Any], live: Mapping[str, Resource]
) -> tuple[list[tuple[str, Any, Resource | None]], list[tuple[str, Resource]]]:
    pairs = [(key, value, live.get(key)) for key, value in desired.items()]
    return pairs, [(key, item) for key, item in live.items() if key not in desired]


def paired(
    desired: Mapping[str, Any], live: Mapping[str, Resource]
) -> tuple[list[tuple[str, Any, Resource | None]], list[tuple[str, Resource]]]:
    pairing = Pairing(desired.items(), live, lambda key, _: key in desired)
    return list(pairing), pairing.undeclared


class CountingLive(dict[str, Resource]):
    """A live side that counts the lookups made of it."""

    lookups = 0

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.lookups += 1
        return super().get(key, default)


KEYS = st.lists(st.integers(0, 60).map(lambda n: f"k{n}"), unique=True, max_size=40)


@given(KEYS, KEYS, st.randoms(use_true_random=False))
def test_pairs_and_undeclared_are_those_of_lookups(
    desired_keys: list[str], live_keys: list[str], rng: Any
) -> None:
    """Any desired and live keys, in any orders: the walk gives the lookups' pairs, in desired
    order, and the live items nothing declares, in live order."""
    desired = {key: f"want-{key}" for key in desired_keys}
    live = live_items(live_keys)
    assert paired(desired, live) == by_lookup(desired, live)
    # The same keys with the live side partly in the desired order (what providers give).
    common = [k for k in desired_keys if k in live]
    rest = [k for k in live_keys if k not in desired]
    mixed = list(common)
    for key in rest:
        mixed.insert(rng.randint(0, len(mixed)), key)
    live = live_items(mixed)
    assert paired(desired, live) == by_lookup(desired, live)


def test_in_one_order_the_walk_looks_nothing_up() -> None:
    """Live in the desired order with a few items removed and a few extra: the removed ones are
    the only lookups (the point of the walk: no random access per item)."""
    keys = [f"k{n}" for n in range(1000)]
    desired = {key: key for key in keys}
    removed = {"k10", "k500", "k999"}
    live = CountingLive(live_items([k for k in keys if k not in removed][:600] + ["x1", "x2"] + keys[600:]))
    for key in removed:
        live.pop(key, None)
    pairs, undeclared = paired(desired, live)
    assert [key for key, _, found in pairs if found is None] == ["k10", "k500", "k999"]
    assert [key for key, _ in undeclared] == ["x1", "x2"]
    assert live.lookups == len(removed)


def test_another_order_falls_back_to_lookups() -> None:
    """Live in the reverse order: after GIVE_UP pairs found away from the cursor, the walk stops
    following the live order and looks every key up, and the result is still that of lookups."""
    keys = [f"k{n}" for n in range(10 * GIVE_UP)]
    desired = {key: key for key in keys}
    live = CountingLive(live_items([*reversed(keys), "extra"]))
    found = paired(desired, live)
    assert live.lookups == len(keys)  # the last key, under the cursor from the start, too
    assert found == by_lookup(desired, live)
