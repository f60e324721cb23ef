"""82830 SMSConnector (Web API): append-only phone lists and campaigns.

The one registration point of the provider: name, capabilities and credential keys (``INFO``),
the Provider class and how the sandbox runs its emulator. See docs/providers/smsconnector.md.
"""

from reconciler.providers.base import Registration, SandboxDefaults
from reconciler.providers.smsconnector.capabilities import INFO

REGISTRATION = Registration(
    info=INFO,
    provider="reconciler.providers.smsconnector.provider:SmsConnectorProvider",
    sandbox=SandboxDefaults(
        emulator="reconciler.sandbox.smsconnector.emulator:SmsConnectorEmulator",
        port_offset=3,
        api_path="",
        url_env="SMSC_URL",
        credential_env={"username": "SMSC_USER", "password": "SMSC_PASSWORD"},
    ),
)
