"""What the Intouch REST API can manage (docs/providers/intouch.md)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reconciler.model import MEMBERSHIPS
from reconciler.providers.base import Capability, ProviderInfo, cannot, yes

CAPABILITIES = {
    "groups": Capability(
        list=yes(),
        create=yes(),
        update=yes(),
        delete=yes(),
        fields=frozenset({"name", "description"}),
        delete_warning="deleting an Intouch group keeps its contacts but drops their membership",
    ),
    "contacts": Capability(
        list=yes(),
        create=yes(),
        update=yes("PUT replaces the whole contact; undeclared fields keep their live values"),
        delete=yes(),
        fields=frozenset(
            {
                "mobile",
                "email",
                "first_name",
                "last_name",
                "description",
                "description2",
                "description3",
                "groups",
            }
        ),
    ),
    MEMBERSHIPS: Capability(
        list=yes(),
        create=yes(),
        update=cannot("a group membership has no attributes"),
        delete=yes(),
        fields=frozenset({"group", "contact"}),
    ),
}


def validate_item(
    type_: str, attrs: Mapping[str, Any], now: datetime | None = None
) -> list[tuple[str, str]]:
    """Intouch rules on one normalized desired item: a contact needs a phone number (section 4.2)."""
    if type_ == "contacts" and not attrs.get("mobile"):
        return [("mobile", "Intouch contacts need a mobile number (add mobile: ...)")]
    return []


INFO = ProviderInfo(
    name="intouch",
    capabilities=CAPABILITIES,
    default_url="https://intouchapi.pswin.com/2",
    timezone="Europe/Oslo",
    credentials=("username", "domain", "password"),
    secret_credentials=("password",),
    validate_item=validate_item,
)
