"""The files of a config repository: discovery, display paths, reading and the fingerprint."""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path

ROOT_FILE = "reconciler.yaml"
RESOURCE_SUFFIXES = (".yaml", ".yml")


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
        """The bytes of ``rel``, remembered for the fingerprint. Raises OSError."""
        if rel not in self.files:
            self.files[rel] = (self.root / rel).read_bytes()
        return self.files[rel]

    def discover(self) -> list[str]:
        """Resource files: ``*.yaml``/``*.yml`` below the root, sorted; hidden directories and files,
        ``.reconciler/`` and the root ``reconciler.yaml`` are left out."""
        found: list[str] = []
        for directory, subdirs, names in os.walk(self.root):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            base = Path(directory).relative_to(self.root)
            for name in names:
                if name.startswith(".") or not name.endswith(RESOURCE_SUFFIXES):
                    continue
                rel = (base / name).as_posix()
                if rel != ROOT_FILE:
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
