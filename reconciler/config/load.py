"""Load a config repository: discover files, parse YAML, validate, build the desired resources.

``load_config`` is the one entry point (the CLI and the planner call it). It reads
``reconciler.yaml`` and every resource file, checks them against the JSON Schemas in ``schemas/``
and then semantically (see :mod:`reconciler.config.accounts` and :mod:`reconciler.config.validate`),
and either returns a :class:`Config` or raises :class:`ConfigError` listing every problem, sorted
by file, line and column. Nothing here touches the network.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.config import workers
from reconciler.config.accounts import Settings, protect_env_refs, read_safety, read_settings, state_path
from reconciler.config.prepare import Ahead, prepare_items, split_points
from reconciler.config.repo import ROOT_FILE, OutsideRoot, Repo
from reconciler.config.schema import RESOURCES_SCHEMA, ROOT_SCHEMA, Steps, validator
from reconciler.config.types import Config
from reconciler.config.validate import Resources
from reconciler.config.yamlfile import Document, parse
from reconciler.errors import ConfigError, Problem
from reconciler.gcpause import gc_paused

log = logging.getLogger(__name__)


def load_config(
    root: Path,
    env: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
    offline: bool = False,
    on_accounts: Callable[[Config], None] | None = None,
) -> Config:
    """Load and validate the config repository at ``root``.

    ``env`` supplies ``${NAME}`` values for ``url`` and ``credentials`` (default: ``os.environ``);
    ``now`` is the time past campaigns and reminders are judged against (default: the current time).
    ``offline`` (for `validate`): an unset variable is a note, not an error, as nothing will connect.
    Raises :class:`ConfigError` with every problem found; returns warnings in ``Config.warnings``.
    Credential values are registered with :mod:`reconciler.secrets` before any problem is built.

    ``on_accounts`` is called once ``reconciler.yaml`` has been read without an error, before the
    resource files are: with a :class:`Config` of its accounts and state settings and nothing
    declared yet. A plan starts reading the live accounts there (:meth:`reconciler.engine.Run.prefetch`),
    since what it reads does not depend on the resource files.
    """
    started = time.perf_counter()
    root = Path(root)
    with gc_paused():  # see reconciler/gcpause.py: ~10% of the load time
        environ = os.environ if env is None else env
        config = _load(root, environ, now or datetime.now(UTC), offline, on_accounts)
    log.info(
        "load: files=%s resources=%s seconds=%.2f",
        len(config.files),
        sum(len(items) for items in config.desired.values()),
        time.perf_counter() - started,
    )
    return config


def _load(
    root: Path,
    env: Mapping[str, str],
    now: datetime,
    offline: bool,
    on_accounts: Callable[[Config], None] | None,
) -> Config:
    repo = Repo(root)
    root_path = repo.display(ROOT_FILE)
    if not root.is_dir():
        what = "is a file" if root.exists() else "does not exist"
        message = f"the config directory {what} (pass the directory that holds reconciler.yaml)"
        raise ConfigError([Problem(message, str(repo.shown))])
    try:
        data = repo.read(ROOT_FILE)
    except FileNotFoundError:
        raise ConfigError(
            [
                Problem(
                    f"no {ROOT_FILE} in {repo.shown} (create it with version: 1 and accounts:, "
                    "or pass the config directory)",
                    root_path,
                )
            ]
        ) from None
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read {ROOT_FILE}: {_reason(exc)}", root_path)]) from None
    problems: list[Problem] = []
    root_doc, broken = _parse(protect_env_refs(data), root_path, ROOT_FILE, ROOT_SCHEMA, problems)
    if root_doc.value is None and not problems:
        problems.append(
            Problem(f"{ROOT_FILE} is empty (start it with version: 1 and accounts:)", root_path, 1, 1)
        )
    settings, found = read_settings(root_doc, env, broken, offline=offline)
    problems.extend(found)
    started = None
    if on_accounts is not None and root_doc.value is not None and not _has_error(problems):
        early = Config(
            root=root,
            accounts=dict(settings.accounts),
            desired={},
            safety=read_safety(settings),
            state_path=state_path(root, settings),
            state=settings.state,
        )
        started = lambda: on_accounts(early)  # noqa: E731
    files: list[_File] = []
    for rel in repo.discover(settings.exclude):
        path = repo.display(rel)
        try:
            files.append(_File(rel, path, repo.read(rel)))
        except OSError as exc:
            problems.append(Problem(f"cannot read file: {_reason(exc)}", path))
    docs: list[tuple[Document, set[Steps]]] = []
    big = lambda file: len(file.data) >= workers.FORK_MIN_BYTES  # noqa: E731
    work = functools.partial(_parse_resources, settings=settings if root_doc.value is not None else None)
    parsed = workers.run_all(work, files, big, started)
    for file, result in zip(files, parsed, strict=True):
        doc, found, broken = _document(file, result)
        problems.extend(found)
        docs.append((doc, broken))
    resources = Resources(settings, repo, now)
    try:
        # Without a readable reconciler.yaml every account would look unknown: check files alone.
        desired = resources.check(docs) if root_doc.value is not None else {}
    finally:
        for doc, _ in docs:
            doc.prepared.close()  # a worker still preparing items nobody asked for
    problems.extend(resources.problems)
    errors = sorted((p for p in problems if p.severity == "error"), key=_order)
    if errors:
        raise ConfigError(errors)
    return Config(
        root=root,
        accounts=dict(settings.accounts),
        desired=desired,
        safety=read_safety(settings),
        state_path=state_path(root, settings),
        state=settings.state,
        fingerprint=repo.fingerprint(),
        files=tuple(sorted(repo.files)),
        warnings=tuple(sorted((p for p in problems if p.severity != "error"), key=_order)),
        protect=resources.protect,
    )


@dataclass(frozen=True)
class _File:
    rel: str
    path: str
    data: bytes


# What a worker sends back first for one file, as plain data: the document's value and item
# starts, the problems as (message, path, line, col, severity), the schema's broken steps, and
# where in each list the items it prepares next begin (prepare.Ahead).
_Parsed = tuple[
    Any,
    dict[str, list[tuple[int, int]]],
    list[tuple[str, str, int, int, str]],
    set[Steps],
    dict[str, int],
]


def _parse_resources(file: _File, settings: Settings | None) -> workers.Staged:
    """Parse and schema-check one resource file, then prepare the later part of its items (in a
    worker process when the file is big: see :mod:`reconciler.config.workers`; in this process
    nothing is prepared ahead, as the work would merely move). :func:`_document` makes the
    document again from the bytes the caller holds (cheaper than a worker sending them back)."""
    found: list[Problem] = []
    doc, broken = _parse(file.data, file.path, file.rel, RESOURCES_SCHEMA, found)
    problems = [(p.message, p.path, p.line, p.col, p.severity) for p in found]
    value = doc.value
    ahead = settings is not None and workers.in_worker()  # here, the work would merely move
    starts = split_points(value) if value is not None and ahead else {}
    first: _Parsed = (value, doc.starts, problems, broken, starts)
    return workers.Staged(first, lambda: prepare_items(value or {}, settings, starts) if settings else {})


def _document(file: _File, parsed: workers.Staged) -> tuple[Document, list[Problem], set[Steps]]:
    value, starts, problems, broken, ahead = parsed.first
    doc = Document(file.path, file.rel, file.data, None, value, {k: list(v) for k, v in starts.items()})
    doc.prepared = Ahead(ahead, parsed.later)
    return doc, [Problem(*p) for p in problems], set(broken)


def _parse(
    data: bytes, path: str, rel: str, schema: str, problems: list[Problem]
) -> tuple[Document, set[Steps]]:
    """Parse one file and check it against ``schema``; problems are appended to ``problems``."""
    checker = validator(schema)
    doc, found = parse(data, path, rel, checker.spec)
    problems.extend(found)
    if doc.value is None:
        return doc, set()
    found, broken = checker.problems(doc)
    problems.extend(found)
    return doc, broken


def _has_error(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def _reason(exc: OSError) -> str:
    if isinstance(exc, OutsideRoot):
        return str(exc.strerror)
    return f"{exc.strerror or type(exc).__name__} (check its permissions)"


def _order(problem: Problem) -> tuple[str, int, int, str]:
    return problem.path, problem.line, problem.col, problem.message
