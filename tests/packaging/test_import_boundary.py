"""The client side of the package (CLI, engine, providers) never imports the sandbox's web stack."""

from __future__ import annotations

import subprocess
import sys

CLIENT_MODULES = (
    "reconciler.cli",
    "reconciler.engine",
    "reconciler.apply",
    "reconciler.providers.intouch.provider",
    "reconciler.providers.intime.provider",
    "reconciler.providers.smsconnector.provider",
)


def test_client_modules_do_not_import_werkzeug_or_the_emulators() -> None:
    """Importing every client module leaves werkzeug and reconciler.sandbox out of sys.modules."""
    code = (
        "import sys\n"
        f"for name in {CLIENT_MODULES!r}:\n"
        "    __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'werkzeug' or m.startswith('reconciler.sandbox'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""


def test_the_emulators_do_not_import_their_clients() -> None:
    """Each emulator stays independent of the client it emulates: no reconciler.providers import."""
    code = (
        "import sys\n"
        "for name in ('intouch', 'intime', 'smsconnector'):\n"
        "    __import__(f'reconciler.sandbox.{name}.emulator')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('reconciler.providers'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
