"""What the InTime Messenger XML API can manage (../shared/providers/intime.md, section 8)."""

from reconciler.providers.base import Capability, ProviderInfo, cannot, yes

CONTACTS_WRITE_ONLY = (
    "InTime's API can only create contacts; change or delete this contact in the InTime web UI "
    "(Contacts), then remove it from the YAML or run `reconciler state rm`"
)

CAPABILITIES = {
    "groups": Capability(
        list=yes(), create=yes(), update=cannot("InTime cannot rename groups"), delete=yes(),
        fields=frozenset({"name"}), batch_size=100,
        delete_warning="InTime drops every membership of a deleted group (renaming is delete + create)",
    ),
    "contacts": Capability(
        list=cannot("InTime's API cannot list contacts, so live contacts cannot be audited"),
        create=yes(), update=cannot(CONTACTS_WRITE_ONLY), delete=cannot(CONTACTS_WRITE_ONLY),
        fields=frozenset({"mobile", "email", "first_name", "last_name", "description", "groups"}),
        batch_size=500, tracked=True,
    ),
    "blocklist": Capability(
        list=yes(), create=yes(), update=cannot("a blocklist entry has no attributes to change"), delete=yes(),
        fields=frozenset({"mobile"}), batch_size=500,
    ),
    "reminders": Capability(
        list=yes(), create=yes(), update=yes("only active reminders can be edited"),
        delete=yes("InTime cannot delete reminders: a removed reminder is deactivated (active=false)"),
        fields=frozenset({"name", "appointment", "organizer", "attendant", "active"}),
        derived_fields=frozenset({"message_date", "message_text", "user_alias"}),
        batch_size=100, tracked=True, adopt_by=("attendant.mobile", "appointment"),
    ),
    "campaigns": Capability(
        list=cannot("InTime cannot read back scheduled messages; the tool relies on the ids in its state"),
        create=yes(),
        update=cannot("InTime cannot edit a scheduled message"),
        delete=yes("a scheduled message is removed while its send time is still in the future"),
        fields=frozenset({"name", "text", "sender", "send_at", "send_now", "to", "flash", "multisms"}),
        tracked=True,
    ),
}

INFO = ProviderInfo(
    name="intime",
    capabilities=CAPABILITIES,
    default_url="https://sms.intime.nu/api/1.0",
    timezone="Europe/Stockholm",
    credentials=("user", "hash"),
)
