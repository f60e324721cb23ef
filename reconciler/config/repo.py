"""The files of a config repository: discovery, display paths, reading and the fingerprint."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

ROOT_FILE = "reconciler.yaml"
RESOURCE_SUFFIXES = (".yaml", ".yml")


class OutsideRoot(OSError):
    """A path inside the repository resolves (through a symlink) to a file outside it."""

    def __init__(self) -> None:
        super().__init__(
            "it resolves (through a symlink) to a file outside the config directory, which is never read "
            "(copy the file into the repository instead of linking it)"
        )
        self.strerror = str(self.args[0])


class Repo:
    """One config directory. Every file read through :meth:`read` counts toward the fingerprint.

    Paths inside the repository are *relative paths* with ``/`` separators; messages show them
    joined to the directory as the user gave it (relative to the current directory when possible).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        shown = root
        if root.is_absolute():
            try:
                shown = root.relative_to(Path.cwd())
            except ValueError:
                shown = root
        self.shown = shown
        self.files: dict[str, bytes] = {}

    def display(self, rel: str) -> str:
        """How a message names the file at ``rel``."""
        return os.path.normpath(os.path.join(self.shown, rel))

    def inside(self, base_rel: str, target: str) -> str | None:
        """``target`` (relative to the file ``base_rel``) as a relative path; ``None`` if outside."""
        if os.path.isabs(target):
            return None
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(base_rel), target.replace(os.sep, "/")))
        return None if rel == ".." or rel.startswith("../") else rel

    def read(self, rel: str) -> bytes:
        """The bytes of ``rel``, remembered for the fingerprint. Raises OSError, and
        :class:`OutsideRoot` (before reading anything) when a symlink leads out of the repository."""
        if rel not in self.files:
            path = (self.root / rel).resolve()
            if not path.is_relative_to(self.root.resolve()):
                raise OutsideRoot()
            self.files[rel] = path.read_bytes()
        return self.files[rel]

    def discover(self, exclude: Iterable[str] = ()) -> list[str]:
        """Resource files: ``*.yaml``/``*.yml`` below the root, sorted; hidden directories and files,
        ``.reconciler/``, the root ``reconciler.yaml`` and paths matching an ``exclude`` glob
        (see :func:`excluded`) are left out."""
        patterns = tuple(exclude)
        found: list[str] = []
        for directory, subdirs, names in os.walk(self.root):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            base = Path(directory).relative_to(self.root)
            for name in names:
                if name.startswith(".") or not name.endswith(RESOURCE_SUFFIXES):
                    continue
                rel = (base / name).as_posix()
                if rel != ROOT_FILE and not excluded(rel, patterns):
                    found.append(rel)
        return sorted(found)

    def fingerprint(self) -> str:
        """sha256 over the sorted relative paths and bytes of every file read (never the environment)."""
        digest = hashlib.sha256()
        for rel in sorted(self.files):
            data = self.files[rel]
            digest.update(rel.encode("utf-8") + b"\0" + str(len(data)).encode("ascii") + b"\0")
            digest.update(data)
        return digest.hexdigest()


def excluded(rel: str, patterns: Iterable[str]) -> bool:
    """True when the relative path ``rel`` matches one of the ``exclude:`` globs.

    Like .gitignore: a pattern without ``/`` matches the file name in any directory
    (``docker-compose.yml``); one with ``/`` matches the path from the root (``ci/*.yaml``); ``*``
    and ``?`` stay within one directory level, ``**`` spans any number of them, and a pattern
    naming a directory (``ci/`` or ``ci``) excludes everything below it.
    """
    parts = rel.split("/")
    for pattern in patterns:
        regex = _glob_regex(pattern)
        if "/" not in pattern.strip("/"):
            # A bare name: the file itself, or any directory on the way to it.
            if any(regex.fullmatch(part) for part in parts):
                return True
        elif any(regex.fullmatch("/".join(parts[:end])) for end in range(1, len(parts) + 1)):
            return True
    return False


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob (``*``, ``?``, ``**``, ``[...]``) as a regular expression over ``/``-separated paths."""
    glob = pattern.strip("/")
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 2 :]:
            end = glob.index("]", i + 2)
            body = glob[i + 1 : end]
            body = body.replace("\\", "\\\\").replace("^", "\\^")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))
