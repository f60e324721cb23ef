"""InTime's answer codes (docs/providers/intime.md) and the exceptions they raise.

InTime answers a failed call with HTTP 200 and a plain-text ``N:ERRORM`` code whose meaning
depends on the function called. :func:`answer_error` turns a code into a one-line error naming
the operation and the meaning: :class:`IntimeUnauthorized` for rejected credentials,
:class:`NothingRemoved` when a delete removed nothing, :class:`IntimeError` otherwise.
"""

from __future__ import annotations

from reconciler.errors import NotFound, ProviderError, Unauthorized

AUTH_ADVICE = (
    "check the account's credentials `user` and `hash` (for example ${INTIME_USER} and ${INTIME_HASH}) "
    "and that the InTime user is verified"
)

COMMON_ERRORS = {
    "0:ERROR1": "user and/or hash missing",
    "0:ERROR2": "the XML body was empty",
    "0:ERROR3": "user not verified (wrong user or hash, or an unverified account)",
    "1:ERROR1": "XML validation failed (a required element is missing or a value breaks InTime's rules)",
}
# What each function-specific code means (section 4-7 of the reference), by endpoint.
ENDPOINT_ERRORS: dict[str, dict[str, str]] = {
    "message/create": {
        "1:ERROR2": "the send date is in the past",
        "1:ERROR3": "recipients incorrect (invalid number or unknown group)",
        "2:ERROR0": "loading the block list failed",
        "2:ERROR1": "unable to send",
        "2:ERROR2": "no recipient to send to (empty groups, or every member is blocked)",
    },
    "message/delete": {
        "1:ERROR1": "InTime could not open the XML message",
        "2:ERROR1": "InTime could not read the messageid",
        "2:ERROR2": "unable to remove the message (unknown id, already sent or already removed)",
    },
    "contacts/add": {
        "2:ERROR1": "unable to create the contacts (for example an unknown group id)",
        "3:ERROR1": "invalid e-mail address",
        "3:ERROR2": "invalid mobile number",
    },
    "contacts/addgroup": {"2:ERROR1": "unable to create the groups"},
    "contacts/deletigroup": {"2:ERROR1": "could not remove any of the groups (unknown ids)"},
    "nix/addnix": {"2:ERROR1": "could not create the block-list entries (for example an invalid number)"},
    "nix/deletenix": {"2:ERROR1": "could not delete any entry (none of the numbers is blocked)"},
    "reminder/add": {"2:ERROR1": "could not add the reminders (for example an invalid attendant mobile)"},
    "reminder/edit": {"2:ERROR1": "could not edit the reminders (unknown appointment ids)"},
}


class IntimeError(ProviderError):
    """An InTime answer code (``code``) or an unusable answer."""

    def __init__(self, message: str, code: str = "", *, maybe_committed: bool = False) -> None:
        super().__init__(message, maybe_committed=maybe_committed)
        self.code = code


class IntimeUnauthorized(Unauthorized, IntimeError):
    """``0:ERROR1`` / ``0:ERROR3``: the user and hash were not accepted."""


class NothingRemoved(NotFound, IntimeError):
    """A delete call removed nothing (``2:ERROR1`` / ``2:ERROR2``): the items are unknown or gone."""


def answer_error(endpoint: str, code: str, what: str) -> IntimeError:
    """The exception for answer ``code`` of ``endpoint`` (``contacts/add`` ...) during ``what``."""
    meaning = (
        ENDPOINT_ERRORS.get(endpoint, {}).get(code) or COMMON_ERRORS.get(code) or "undocumented error code"
    )
    msg = f"intime: {what}: {code} ({meaning})"
    if code in ("0:ERROR1", "0:ERROR3"):
        return IntimeUnauthorized(f"{msg}; {AUTH_ADVICE}", code)
    if (endpoint, code) in (
        ("contacts/deletigroup", "2:ERROR1"),
        ("nix/deletenix", "2:ERROR1"),
        ("message/delete", "2:ERROR2"),
    ):
        return NothingRemoved(msg, code)
    return IntimeError(msg, code)
