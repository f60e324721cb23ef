"""What the 82830 SMSConnector Web API can manage (../shared/providers/smsconnector.md, section 9)."""

from reconciler.providers.base import Capability, ProviderInfo, cannot, yes

APPEND_ONLY = (
    "SMSConnector phone lists are append-only: numbers and lists cannot be removed through the API; "
    "remove them in the 82830 web portal"
)

CAPABILITIES = {
    "phone_lists": Capability(
        list=yes(), create=yes(), update=yes("numbers can only be added"), delete=cannot(APPEND_ONLY),
        fields=frozenset({"name", "numbers", "folder"}),
        immutable_fields=frozenset({"folder"}), append_only_fields=frozenset({"numbers"}),
    ),
    "campaigns": Capability(
        list=cannot("SMSConnector cannot read campaigns back; the tool relies on the ids in its state"),
        create=yes(),
        update=yes("only the launch status and the linked phone lists change in place"),
        delete=yes("SMSConnector cannot delete campaigns: a removed campaign is stopped"),
        replace=yes("SMSConnector cannot edit a campaign: the old one is stopped and a new one created"),
        fields=frozenset({"name", "text", "sender", "brand", "folder", "send_at", "to", "status"}),
        immutable_fields=frozenset({"text", "sender", "brand", "folder", "send_at", "to.numbers", "to.groups"}),
        tracked=True,
    ),
}

INFO = ProviderInfo(
    name="smsconnector",
    capabilities=CAPABILITIES,
    default_url="https://webapi.82830.co.uk",
    timezone="Europe/London",
    credentials=("username", "password", "reusable_token"),
    optional_credentials=("password", "reusable_token"),
)
