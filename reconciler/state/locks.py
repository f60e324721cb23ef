"""Per-account locks, whoever implements them: who holds one, whether it is alive, and `unlock` policy.

A lock is held by a live process: the file backend's OS lock and PostgreSQL's session advisory lock
are both released when their holder dies. So a held lock is never "stale" on the holder's own host,
and `state unlock` refuses to break it there. Only a holder on another host (a lost machine on a
shared filesystem, a half-open database connection) may be broken, with ``--force``.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.state.document import now_text

POLL_SECONDS = 0.1


def this_host() -> str:
    return socket.gethostname()


def holder_record(command: str) -> dict[str, Any]:
    """Who takes a lock now: host, pid, command and since (stored beside the lock)."""
    return {"host": this_host(), "pid": os.getpid(), "command": command, "since": now_text()}


def describe(holder: Mapping[str, Any] | None) -> str:
    if not holder:
        return "holder unknown"
    parts = [
        f"{k}={holder[k]}" for k in ("host", "pid", "command", "since") if holder.get(k) not in (None, "")
    ]
    return ", ".join(parts) or "holder unknown"


def pid_alive(pid: Any) -> bool:
    """Whether process ``pid`` exists on this host (a process of another user counts as alive)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def locked_message(where: str, account: str, holder: Mapping[str, Any] | None, waited: float) -> str:
    """The error of a run that could not get an account's lock; never advises breaking a live lock."""
    text = (
        f"{where}: account {account} is locked by another run ({describe(holder)}); waited {waited:.0f}s. "
        "The lock is released when that run ends, even if it is killed: wait for it, or rerun with "
        "--lock-timeout SECONDS to wait"
    )
    host = (holder or {}).get("host")
    if host and host != this_host():
        text += (
            f". Only if host {host} is gone for good and its run cannot end, "
            "`reconciler state unlock --force` breaks the lock"
        )
    return text


@dataclass(frozen=True)
class LockStatus:
    """One account's lock as a backend sees it: whether a live session holds it, and who said they do."""

    account: str
    held: bool
    holder: Mapping[str, Any] | None


@dataclass(frozen=True)
class Verdict:
    """What `state unlock` does with one lock: ``break``, ``clear`` (not held) or ``refuse``, and why."""

    action: str
    message: str
    warning: str = ""


def unlock_verdict(status: LockStatus, force: bool) -> Verdict:
    """The unlock policy: refuse a live holder on this host; another host's holder only with force."""
    who = describe(status.holder)
    name = status.account
    if not status.held:
        if status.holder:
            return Verdict(
                "clear", f"{name}: not locked; cleared the record left by a run that ended ({who})"
            )
        return Verdict("clear", f"{name}: not locked")
    holder = status.holder or {}
    host = holder.get("host")
    if host == this_host():
        if pid_alive(holder.get("pid")):
            return Verdict(
                "refuse",
                f"{name}: locked by a live run on this host ({who}); it releases the lock when it ends, "
                "even if killed: wait for it or stop that process. Refusing to unlock",
            )
        return Verdict("break", f"{name}: unlocked; its holder ({who}) no longer runs on this host")
    if not force:
        where = f"on host {host}" if host else "by an unknown holder"
        return Verdict(
            "refuse",
            f"{name}: locked {where} ({who}); this host cannot tell whether that run is alive. "
            "If it is gone for good, rerun with --force to break the lock",
        )
    return Verdict(
        "break",
        f"{name}: unlocked ({who})",
        warning=(
            f"{name}: broke a lock held on another host ({who}); if that run is still alive, "
            "it now writes beside the next one"
        ),
    )


def deadline(timeout: float) -> float:
    return time.monotonic() + max(0.0, timeout)
