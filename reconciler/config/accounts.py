"""Semantic checks of ``reconciler.yaml``: accounts, credentials, regions, safety and state.

Runs after the schema check, on whatever parts of the file are well-typed. ``${NAME}`` is
expanded from the environment in ``url`` and ``credentials`` only; every credential value is
registered as a secret before any problem is built, and no problem ever quotes one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from reconciler import secrets
from reconciler.config.schema import where
from reconciler.config.types import (
    SAFETY_DEFAULTS,
    AccountConfig,
    IgnoreRule,
    Safety,
    SafetyBlock,
    StateSettings,
)
from reconciler.config.yamlfile import Document, locate
from reconciler.errors import Problem
from reconciler.http import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Limits
from reconciler.model import KEY_FIELDS, Origin
from reconciler.providers.base import REGISTRY, ProviderInfo, provider_info
from reconciler.sms.rules import DEFAULT_WINDOW, Policy, Price, Window, parse_window, region_zone
from reconciler.types import TYPES, USER_TYPES
from reconciler.urls import is_loopback

DEFAULT_REGION = "SE"
DEFAULT_STATE = ".reconciler/state.json"
_ENV = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|\u27e8([A-Za-z_][A-Za-z0-9_]*)\u27e9)")
# An unquoted ${NAME} inside a flow mapping ({user: ${NAME}}) is not valid YAML, yet the interface
# spec writes it so. load.py rewrites every ${NAME} of reconciler.yaml to $\u27e8NAME\u27e9 (same
# length, a plain scalar) before parsing; both spellings expand here.
ENV_REF = re.compile(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def protect_env_refs(data: bytes) -> bytes:
    """``${NAME}`` -> ``$\u27e8NAME\u27e9``: parses as a plain scalar in flow and block context alike."""
    return ENV_REF.sub(lambda m: b"$\xe2\x9f\xa8" + m.group(1) + b"\xe2\x9f\xa9", data)


# Common mistakes for ISO 3166 codes, with the code meant.
_REGION_HINTS = {"UK": "GB", "EN": "GB"}


def supported_types(info: ProviderInfo) -> list[str]:
    """Resource types a user may declare for ``info``'s provider (memberships are internal)."""
    return sorted(t for t in info.capabilities if t in USER_TYPES)


@dataclass
class Settings:
    """What ``reconciler.yaml`` declares, as far as it is valid."""

    accounts: dict[str, AccountConfig] = field(default_factory=dict)
    infos: dict[str, ProviderInfo] = field(default_factory=dict)  # by account name
    declared: set[str] = field(default_factory=set)  # every account name, valid or not
    safety: SafetyBlock = field(default_factory=SafetyBlock)
    account_safety: dict[str, SafetyBlock] = field(default_factory=dict)
    state_path: str = DEFAULT_STATE
    state: StateSettings = field(default_factory=StateSettings)
    region: str = DEFAULT_REGION
    exclude: tuple[str, ...] = ()


class _Reader:
    def __init__(self, doc: Document, env: Mapping[str, str], offline: bool = False) -> None:
        self.doc, self.node, self.env, self.offline = doc, doc.tree, env, offline
        self.unset: dict[str, tuple[str | int, ...]] = {}  # offline: variable -> first place used
        self.problems: list[Problem] = []

    def problem(
        self, path: tuple[str | int, ...], message: str, *, key: bool = False, severity: str = "error"
    ) -> None:
        line, col = locate(self.node, path, key=key)
        self.problems.append(Problem(message, self.doc.path, line, col, severity))

    def region(self, path: tuple[str | int, ...], value: Any, fallback: str) -> str:
        if not isinstance(value, str) or not re.fullmatch("[A-Za-z]{2}", value):
            return fallback  # absent, or already reported by the schema
        code = value.upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            meant = _REGION_HINTS.get(code)
            hint = f"did you mean {meant}? " if meant else ""
            self.problem(
                path,
                f"{where(path)}: '{value}' is not a known country code ({hint}write an ISO 3166 "
                "code such as SE, NO, GB)",
            )
            return fallback
        return code

    def expand(self, path: tuple[str | int, ...], value: str) -> str | None:
        """``value`` with ``${NAME}`` replaced from the environment; ``None`` (and a problem per
        missing name: a note when offline, as `validate` needs no credentials) when a variable is
        not set."""
        names = [a or b for a, b in _ENV.findall(value)]
        missing = [name for name in names if name not in self.env]
        for name in dict.fromkeys(missing):
            if self.offline:
                self.unset.setdefault(name, path)
                continue
            self.problem(
                path,
                f"{where(path)}: environment variable {name} is not set "
                f"(export {name}=... before running reconciler)",
            )
        return None if missing else _ENV.sub(lambda m: self.env[m.group(1) or m.group(2)], value)


def read_settings(
    doc: Document, env: Mapping[str, str], broken: set[tuple[str | int, ...]], *, offline: bool = False
) -> tuple[Settings, list[Problem]]:
    """Accounts and settings of a schema-checked ``reconciler.yaml`` and the problems found
    (``offline``: an unset variable is a note, not an error)."""
    settings = Settings()
    if doc.value is None:
        return settings, []
    reader = _Reader(doc, env, offline)
    value = doc.value
    defaults = value.get("defaults")
    if isinstance(defaults, dict):
        settings.region = reader.region(("defaults", "region"), defaults.get("region"), DEFAULT_REGION)
    safety = value.get("safety")
    if isinstance(safety, dict) and ("safety",) not in broken:
        settings.safety = safety_block(safety)
    exclude = value.get("exclude")
    if isinstance(exclude, list) and ("exclude",) not in broken:
        settings.exclude = tuple(p for p in exclude if isinstance(p, str) and p)
    state = value.get("state")
    if isinstance(state, dict) and isinstance(state.get("path"), str) and state["path"].strip():
        settings.state_path = state["path"].strip()
    if isinstance(state, dict) and ("state",) not in broken:
        settings.state = _read_state(reader, state)
    accounts = value.get("accounts")
    if isinstance(accounts, dict):
        settings.declared = set(accounts)
        for name, spec in accounts.items():
            if isinstance(spec, dict):
                _read_account(reader, settings, name, spec)
    if reader.unset:
        names = list(reader.unset)
        plural = len(names) > 1
        reader.problem(
            reader.unset[names[0]],
            f"environment variable{'s' if plural else ''} not set: {', '.join(names)}; validate does "
            f"not need {'them' if plural else 'it'}, plan and apply do",
            severity="note",
        )
    return settings, reader.problems


def _read_state(reader: _Reader, state: dict[str, Any]) -> StateSettings:
    """The state backend; a PostgreSQL URL is expanded from the environment and kept secret."""
    backend = state.get("backend", "file")
    schema = state.get("schema", "reconciler")
    url = state.get("url")
    if backend != "postgres":
        if url is not None:
            reader.problem(
                ("state", "url"),
                "state.url is only used with backend: postgres (add backend: postgres, or remove url)",
                key=True,
            )
        return StateSettings()
    if not isinstance(url, str):
        reader.problem(
            ("state",),
            "state: backend postgres needs url (write url: ${RECONCILER_STATE_URL} and export the "
            "connection URL, e.g. postgresql://user:password@host:5432/dbname)",
            key=True,
        )
        return StateSettings(backend="postgres", schema=schema)
    expanded = reader.expand(("state", "url"), url)
    if expanded is None:
        return StateSettings(backend="postgres", schema=schema)
    secrets.register(expanded)
    parts = urlsplit(expanded)
    if parts.password:
        secrets.register(parts.password)
    if parts.scheme not in ("postgresql", "postgres") or not (parts.netloc or parts.query):
        reader.problem(
            ("state", "url"),
            "state.url is not a PostgreSQL URL (write postgresql://user:password@host:5432/dbname, "
            "usually as ${RECONCILER_STATE_URL})",
        )
    elif not _ENV.search(url) and parts.password:
        reader.problem(
            ("state", "url"),
            "state.url holds a password in reconciler.yaml; take it from the environment instead "
            "(url: ${RECONCILER_STATE_URL})",
        )
    return StateSettings(backend="postgres", url=expanded, schema=schema)


def _read_account(reader: _Reader, settings: Settings, name: str, spec: dict[str, Any]) -> None:
    base = ("accounts", name)
    credentials = spec.get("credentials")
    expanded: dict[str, str] = {}
    unset: set[str] = set()
    provider = spec.get("provider")
    known = isinstance(provider, str) and provider in REGISTRY
    public: set[str] = set()
    if known:
        declared = provider_info(str(provider))
        public = set(declared.credentials) - set(declared.secret_credentials)
    if isinstance(credentials, dict):
        for key, raw in credentials.items():
            if isinstance(raw, str):
                value = reader.expand(base + ("credentials", key), raw)
                if value is None:
                    unset.add(key)
                expanded[key] = value or ""
                if key not in public:  # user names and domains are shown; anything else is secret
                    secrets.register(expanded[key])
    if not isinstance(provider, str) or not known:
        return  # the schema reported it
    info = provider_info(provider)
    if isinstance(credentials, dict):
        _check_credentials(reader, base, info, expanded, unset)
    url = spec.get("url")
    if isinstance(url, str):
        url = reader.expand(base + ("url",), url)
    if isinstance(url, str):
        _check_url(reader, base + ("url",), url)
    region = reader.region(base + ("region",), spec.get("region"), settings.region)
    supported = supported_types(info)
    prune = spec.get("prune")
    pruned: set[str] = set()
    if isinstance(prune, list):
        for index, type_ in enumerate(prune):
            if type_ in supported:
                pruned.add(type_)
            elif type_ in USER_TYPES:  # other values were reported by the schema
                reader.problem(
                    base + ("prune", index),
                    f"{where(base + ('prune', index))}: provider {provider} does not support "
                    f"{type_}, so it cannot be pruned (prune only: {', '.join(supported)})",
                )
    safety = spec.get("safety")
    if isinstance(safety, dict):
        settings.account_safety[name] = safety_block(safety)
        for type_ in safety:
            if type_ in USER_TYPES and type_ not in supported:
                reader.problem(
                    base + ("safety", type_),
                    f"{where(base + ('safety', type_))}: provider {provider} does not support {type_} "
                    f"(set limits only for: {', '.join(supported)})",
                    key=True,
                )
    ignore = _ignore_rules(reader, base, info, spec.get("ignore"))
    rate = spec.get("rate_limit")
    policy = _read_policy(reader, base, spec, region)
    timeout, cap = spec.get("timeout"), spec.get("max_response_bytes")
    limits = Limits(
        timeout=float(timeout)
        if isinstance(timeout, (int, float)) and _positive(timeout)
        else DEFAULT_TIMEOUT,
        max_response_bytes=cap if isinstance(cap, int) and _positive(cap) else DEFAULT_MAX_RESPONSE_BYTES,
    )
    validity = spec.get("number_validity")
    line, col = locate(reader.node, base, key=True)
    settings.infos[name] = info
    settings.accounts[name] = AccountConfig(
        name=name,
        provider=provider,
        region=region,
        url=url if isinstance(url, str) else None,
        credentials=expanded,
        prune=frozenset(pruned),
        rate_limit=rate if isinstance(rate, int) and not isinstance(rate, bool) and rate > 0 else None,
        ignore=ignore,
        policy=policy,
        limits=limits,
        number_validity=validity if validity in ("valid", "possible") else "valid",
        origin=Origin(reader.doc.path, line, col),
    )


def _ignore_rules(
    reader: _Reader, base: tuple[str | int, ...], info: ProviderInfo, raw: Any
) -> tuple[IgnoreRule, ...]:
    """The account's ``ignore:`` entries; a rule for a type or field the provider lacks is a problem."""
    if not isinstance(raw, list):
        return ()
    supported = supported_types(info)
    rules = []
    for index, entry in enumerate(raw):
        path = base + ("ignore", index)
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            continue  # the schema reported it
        type_ = entry["type"]
        if type_ not in supported:
            if type_ in USER_TYPES:
                reader.problem(
                    path + ("type",),
                    f"{where(path + ('type',))}: provider {info.name} does not support {type_} "
                    f"(ignore only: {', '.join(supported)})",
                )
            continue
        key = entry.get("key")
        fields = entry.get("fields")
        names = tuple(f for f in fields if isinstance(f, str)) if isinstance(fields, list) else ()
        offered = info.capabilities[type_].fields - {KEY_FIELDS.get(type_, "")}
        bad = False
        for at, name in enumerate(names):
            if name not in offered:
                bad = True
                reader.problem(
                    path + ("fields", at),
                    f"{where(path + ('fields', at))}: '{name}' is not a field {info.name} {type_} "
                    f"can ignore (fields: {', '.join(sorted(offered))}; to hide whole items use key:)",
                )
        if bad or (key is None and not names):
            continue
        if isinstance(key, str) and KEY_FIELDS.get(type_) in TYPES[type_].number_fields and key[:1].isdigit():
            reader.problem(
                path + ("key",),
                f"{where(path + ('key',))}: {type_} keys are E.164 numbers, so '{key}' matches none "
                "(write it with + and the country code, e.g. '+4670*')",
                severity="warning",
            )
        line, col = locate(reader.node, path)
        rules.append(
            IgnoreRule(
                type_, key if isinstance(key, str) else None, names, Origin(reader.doc.path, line, col)
            )
        )
    return tuple(rules)


def safety_block(raw: Mapping[str, Any]) -> SafetyBlock:
    """A schema-checked ``safety:`` mapping as a :class:`SafetyBlock` (ill-typed values are skipped:
    the schema reported them)."""

    def numbers(values: Mapping[str, Any]) -> dict[str, float]:
        return {
            name: value
            for name, value in values.items()
            if name in SAFETY_DEFAULTS and isinstance(value, int | float) and not isinstance(value, bool)
        }

    types = {t: numbers(v) for t, v in raw.items() if t in USER_TYPES and isinstance(v, Mapping)}
    return SafetyBlock(numbers(raw), types)


def read_safety(settings: Settings) -> Safety:
    """The root and per-account safety blocks as one :class:`Safety`."""
    return Safety(settings.safety, dict(settings.account_safety))


def _read_policy(
    reader: _Reader, base: tuple[str | int, ...], spec: Mapping[str, Any], region: str
) -> Policy:
    """The account's sending policy: ``quiet_hours``, ``timezone`` (default from the region) and
    ``price_per_segment``; shapes were checked by the schema, meanings are checked here."""
    window: Window | None = DEFAULT_WINDOW
    hours = spec.get("quiet_hours")
    if hours is False:
        window = None
    elif isinstance(hours, str):
        try:
            window = parse_window(hours)
        except ValueError as exc:
            reader.problem(base + ("quiet_hours",), f"{where(base + ('quiet_hours',))}: {exc}")
    zone = spec.get("timezone")
    timezone = region_zone(region)
    if isinstance(zone, str):
        try:
            ZoneInfo(zone)
            timezone = zone
        except (ValueError, OSError, ZoneInfoNotFoundError):
            reader.problem(
                base + ("timezone",),
                f"{where(base + ('timezone',))}: {zone!r} is not a time zone (write an IANA name such "
                "as Europe/Stockholm)",
            )
    price = None
    cost = spec.get("price_per_segment")
    if isinstance(cost, dict):
        amount, currency = cost.get("amount"), cost.get("currency")
        if isinstance(amount, (int, float)) and not isinstance(amount, bool) and isinstance(currency, str):
            price = Price(Decimal(str(amount)), currency)
    return Policy(window, timezone, price)


def _check_url(reader: _Reader, path: tuple[str | int, ...], url: str) -> None:
    """An http(s) URL with a host; plain http only to a loopback address (credentials travel in it)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        reader.problem(
            path,
            f"{where(path)}: '{secrets.redact_url(url)}' is not an http(s) URL "
            "(write https://host/path, or remove url for the provider's default)",
        )
    elif scheme == "http" and not is_loopback(parts.hostname):
        reader.problem(
            path,
            f"{where(path)}: refusing plain http to {parts.hostname}: the credentials would travel in "
            "clear text (use https; http is allowed only to a loopback address such as 127.0.0.1)",
        )


def _positive(value: Any) -> bool:
    """A positive int or float from YAML (not a bool); the schema reported anything else."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _check_credentials(
    reader: _Reader,
    base: tuple[str | int, ...],
    info: ProviderInfo,
    expanded: Mapping[str, str],
    unset: set[str],
) -> None:
    """Required keys present, no unknown keys; optional keys are alternatives (one is needed)."""
    path = base + ("credentials",)
    keys = list(info.credentials)
    for key in expanded:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            reader.problem(
                path + (key,),
                f"{where(path)}: unknown key '{key}' for provider {info.name} "
                f"({hint}expected: {', '.join(keys)})",
                key=True,
            )
    required = [key for key in keys if key not in info.optional_credentials]
    for key in required:
        if key not in expanded:
            reader.problem(
                path,
                f"{where(path)} is missing '{key}' (provider {info.name} needs: "
                f"{', '.join(required)}; write {key}: ${{ENV_VAR}})",
                key=True,
            )
    options = info.optional_credentials
    if options and not any(key in expanded for key in options):
        reader.problem(
            path,
            f"{where(path)} needs one of {' or '.join(options)} for provider {info.name} "
            f"(add {options[0]}: ${{ENV_VAR}})",
            key=True,
        )
    for key, value in expanded.items():
        if key in keys and key not in unset and not value.strip():
            reader.problem(
                path + (key,), f"{where(path + (key,))} is empty (give it a value, e.g. from ${{ENV_VAR}})"
            )


def state_path(root: Path, settings: Settings) -> Path:
    """The state file location, resolved against the config root when relative."""
    path = Path(settings.state_path).expanduser()
    return path if path.is_absolute() else root / path
