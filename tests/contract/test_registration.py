"""Registration refuses a provider that breaks the contract: checked when the class is defined."""

from __future__ import annotations

import pytest

from reconciler.changes import Action, Change
from reconciler.errors import ProviderError, UnsupportedFeature
from reconciler.providers.base import (
    REGISTRY,
    Capability,
    Outcome,
    Provider,
    Registration,
    RegistrationError,
    SandboxDefaults,
    cannot,
    handles,
    provider_info,
    register,
    yes,
)
from reconciler.providers.contract import ApplyContext

GROUPS = Capability(list=yes(), create=yes(), update=cannot("no"), delete=yes(), fields=frozenset({"name"}))


def test_a_capability_without_handler_is_refused_at_definition() -> None:
    """A provider that can delete groups but declares no delete handler cannot even be defined."""
    with pytest.raises(RegistrationError, match="groups: can delete but has no handler"):

        class Broken(Provider):
            name = "broken"
            default_url = "https://broken.invalid"
            capabilities = {"groups": GROUPS}

            def read(self, types, state):  # type: ignore[no-untyped-def]
                return {}

            @handles("groups", Action.CREATE)
            def _create(self, change: Change, ctx: ApplyContext) -> Outcome:
                return Outcome("1")


def test_a_handler_the_capabilities_rule_out_is_refused() -> None:
    """A handler for an operation the capability says is impossible is a contract breach too."""
    with pytest.raises(RegistrationError, match="groups: has a update handler but its capability"):

        class Overreaching(Provider):
            name = "overreaching"
            default_url = "https://overreaching.invalid"
            capabilities = {"groups": GROUPS}

            def read(self, types, state):  # type: ignore[no-untyped-def]
                return {}

            @handles("groups", Action.CREATE, Action.DELETE)
            def _write(self, change: Change, ctx: ApplyContext) -> Outcome:
                return Outcome("1")

            @handles("groups", Action.UPDATE)
            def _update(self, change: Change, ctx: ApplyContext) -> Outcome:
                return Outcome("1")


def test_a_second_provider_of_a_registered_name_is_refused() -> None:
    """register() refuses a name (or sandbox port) that another provider already has."""
    intouch = REGISTRY["intouch"]
    twin = Registration(
        info=provider_info("intouch"),
        provider=intouch.provider,
        sandbox=SandboxDefaults("x:Y", port_offset=99, api_path="", url_env="X", credential_env={}),
    )
    with pytest.raises(RegistrationError, match="registered twice"):
        register(twin)
    assert REGISTRY["intouch"] is intouch


def test_an_operation_without_handler_raises_a_provider_error() -> None:
    """UnsupportedFeature is a ProviderError, so the applier reports it like any failed change."""
    assert issubclass(UnsupportedFeature, ProviderError)
