"""Output on a real terminal (a pseudo-terminal): colour and progress, and their opt-outs."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Emu, make_repo

# Any ANSI/VT escape: CSI (colours, cursor movement), OSC (titles, links) or a bare ESC.
ESCAPE = re.compile(r"\x1b")


def _on_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal; its exit code and output."""
    primary, secondary = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM", "FORCE_COLOR")}
    full_env.update(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=full_env,
        cwd=cwd,
        close_fds=True,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    code = process.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def repo(tmp_path: Path, intouch: Emu):
    """A config with changes to show and apply against the Intouch emulator."""
    made = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    made.write("groups.yaml", "account: oslo\ngroups:\n  - name: Staff\n  - name: Board\n")
    intouch.emulator.add_group("Unmanaged")
    return made


@pytest.mark.parametrize(
    "opt_out", [{"NO_COLOR": "1", "TERM": "xterm-256color"}, {"TERM": "dumb"}, {"TERM": "xterm", "--": "1"}]
)
def test_no_escape_sequences_when_colour_is_off(repo, tmp_path: Path, opt_out: dict[str, str]):
    """Under a pty, NO_COLOR=1, TERM=dumb or --no-color give plan and apply without any escape."""
    env = dict(repo.env, RECONCILER_RETRY_SCALE="0", **{k: v for k, v in opt_out.items() if k != "--"})
    flag = ["--no-color"] if "--" in opt_out else []
    code, out = _on_terminal(["plan", *flag], env, tmp_path)
    assert code == 2, out
    assert "+ groups Staff" in out
    assert not ESCAPE.search(out), repr(out)
    code, out = _on_terminal(["apply", "--auto-approve", *flag], env, tmp_path)
    assert code == 0, out
    assert "Applied: create oslo/groups/Staff" in out  # plain lines instead of a progress bar
    assert not ESCAPE.search(out), repr(out)


def test_a_colour_terminal_gets_colour_and_refresh_progress(repo, tmp_path: Path):
    """Without an opt-out the same run is coloured (so the test above can fail) and shows progress."""
    env = dict(repo.env, RECONCILER_RETRY_SCALE="0", TERM="xterm-256color")
    code, out = _on_terminal(["plan"], env, tmp_path)
    assert code == 2, out
    assert ESCAPE.search(out)
    plain_env = dict(env, NO_COLOR="1")
    code, plain = _on_terminal(["plan"], plain_env, tmp_path)
    assert "refreshing oslo (intouch)" in plain
    assert re.search(r"read oslo: 1 groups, 0 contacts, 0 memberships \(\d+ request\(s\)\)", plain), plain
