"""Redaction: secrets in every encoding they travel in, short ones too, and only the secret fields."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from reconciler import secrets
from reconciler.config.load import load_config
from reconciler.errors import ConfigError
from reconciler.providers.intouch.client import IntouchClient

INTOUCH = """\
version: 1
accounts:
  no-main:
    provider: intouch
    url: ftp://api.example.com/2
    credentials: {username: operator, domain: example.com, password: "${INTOUCH_PASSWORD}"}
"""


def test_basic_authorization_token_is_redacted() -> None:
    """The base64 token of Intouch's Basic Authorization header never appears in text."""
    IntouchClient("http://127.0.0.1:9/2", username="ops", domain="acme.no", password="s3cret-pw")
    token = base64.b64encode(b"ops@acme.no:s3cret-pw").decode()
    assert secrets.redact(f"Authorization: Basic {token}") == "Authorization: Basic ***"


def test_short_secret_is_redacted_as_a_whole_token() -> None:
    """A two-character password is hidden where it stands alone, not inside longer words."""
    secrets.register("k9")
    assert secrets.redact("login with password k9 refused") == "login with password *** refused"
    assert secrets.redact('{"Password": "k9"}') == '{"Password": "***"}'
    assert secrets.redact("k9x and xk9 stay") == "k9x and xk9 stay"


@pytest.mark.parametrize("secret", ['pa"ss\\word', "pä<ss>&wörd"])
def test_escaped_forms_are_redacted(secret: str) -> None:
    """A secret echoed back JSON- or XML-escaped or percent-encoded is hidden too."""
    secrets.register(secret)
    for form in (json.dumps({"p": secret}), json.dumps({"p": secret}, ensure_ascii=False)):
        assert "***" in secrets.redact(form) and secret not in secrets.redact(form)
    from html import escape
    from urllib.parse import quote

    for form in (escape(secret), quote(secret, safe="")):
        assert secrets.redact(f"x {form} y") == "x *** y"


def test_authorization_header_dump_is_redacted() -> None:
    """An unregistered Authorization value in a header dump is hidden by redact_headers."""
    assert secrets.redact_headers("Authorization: Basic dXNlcjpwYXNz\nAccept: */*") == (
        "Authorization: Basic ***\nAccept: */*"
    )
    assert "abc.def" not in secrets.redact_headers("{'Authorization': 'Bearer abc.def'}")


def test_user_names_and_domains_are_not_secrets(tmp_path: Path) -> None:
    """With domain example.com, the host api.example.com and the user name print in full."""
    (tmp_path / "reconciler.yaml").write_text(INTOUCH, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, {"INTOUCH_PASSWORD": "hunter22"})
    assert "'ftp://api.example.com/2' is not an http(s) URL" in str(caught.value)
    assert secrets.redact("log in as operator at example.com with hunter22") == (
        "log in as operator at example.com with ***"
    )
