"""InTime Messenger (XML API): groups, contacts, blocklist, reminders and scheduled messages.

The one registration point of the provider: name, capabilities and credential keys (``INFO``),
the Provider class and how the sandbox runs its emulator. See docs/providers/intime.md.
"""

from reconciler.providers.base import Registration, SandboxDefaults
from reconciler.providers.intime.capabilities import INFO

REGISTRATION = Registration(
    info=INFO,
    provider="reconciler.providers.intime.provider:IntimeProvider",
    sandbox=SandboxDefaults(
        emulator="reconciler.sandbox.intime.emulator:IntimeEmulator",
        port_offset=2,
        api_path="/api/1.0",
        url_env="INTIME_URL",
        credential_env={"user": "INTIME_USER", "hash": "INTIME_HASH"},
    ),
)
