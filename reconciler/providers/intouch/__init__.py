"""Intouch (PSWinCom Intouch REST API): groups, contacts and group memberships.

The one registration point of the provider: name, capabilities and credential keys (``INFO``),
the Provider class and how the sandbox runs its emulator. See docs/providers/intouch.md.
"""

from reconciler.providers.base import Registration, SandboxDefaults
from reconciler.providers.intouch.capabilities import INFO

REGISTRATION = Registration(
    info=INFO,
    provider="reconciler.providers.intouch.provider:IntouchProvider",
    sandbox=SandboxDefaults(
        emulator="reconciler.sandbox.intouch.emulator:IntouchEmulator",
        port_offset=1,
        api_path="/2",
        url_env="INTOUCH_URL",
        credential_env={
            "username": "INTOUCH_USER",
            "domain": "INTOUCH_DOMAIN",
            "password": "INTOUCH_PASSWORD",
        },
    ),
)
