"""Semantic checks of resource files, producing the desired resources.

Runs after the schema check. Per file: the account exists; per type: the account's provider
supports it; per item: the provider supports each field, values normalize (numbers with the
account's region, date-times), the key is unique for the account across all files, referenced
groups and phone lists are declared for the account, and the provider's own rules
(``ProviderInfo.validate_item``, given ``now``) hold. Groups and
phone lists of every file are read before the items that refer to them, so every check is a dict
lookup and loading stays linear.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.config.accounts import Settings, supported_types
from reconciler.config.csvsource import Row, read_rows
from reconciler.config.prepare import PROTECT, Ahead, Prepared, plain_fields
from reconciler.config.repo import OutsideRoot, Repo
from reconciler.config.schema import RESOURCES_SCHEMA, Steps, item_fields, where
from reconciler.config.strict import item_findings
from reconciler.config.types import IgnoreRule
from reconciler.config.yamlfile import Document, locate, locate_char
from reconciler.errors import Problem
from reconciler.ignore import field_rules, hiding_rule
from reconciler.model import (
    INSTANT_FIELDS,
    LOCAL_TIME_FIELDS,
    NUMBER_FIELDS,
    NUMBER_SET_FIELDS,
    InvalidNumber,
    InvalidValue,
    Origin,
    Resource,
    get_path,
    instant,
    key_of,
    local_time,
    normalize_attrs,
    normalize_number,
    share_numbers,
)
from reconciler.providers.base import ProviderInfo
from reconciler.sms.rules import Finding, check_message
from reconciler.types import TYPES, USER_TYPES, referenced_types

# Types whose items others refer to are read first, in every file, then the rest (type table).
PASSES: tuple[tuple[str, ...], ...] = (
    referenced_types(),
    tuple(t for t in USER_TYPES if t not in referenced_types()),
)
NUMBER_HINT = "write it with + and the country code, or check the account's region"

Desired = dict[tuple[str, str], dict[str, Resource]]
# `protect:` is a setting of the tool, not an attribute of the item: it is never sent or compared.


class Site:
    """Where one item was declared (an item of a YAML document or a CSV row) and how to point into it."""

    __slots__ = ("_label", "doc", "origin", "prefix", "row")

    def __init__(
        self,
        origin: Origin,
        label: str = "",
        doc: Document | None = None,
        prefix: Steps = (),
        row: Row | None = None,
    ) -> None:
        self.origin, self._label, self.doc, self.prefix, self.row = origin, label, doc, prefix, row

    @property
    def label(self) -> str:
        """``contacts[2]`` for YAML (made when a message needs it), ``row 7`` for CSV."""
        return self._label or where(self.prefix)

    def at(self, steps: Steps = (), *, key: bool = False) -> tuple[int, int]:
        """Line and column of the attribute at ``steps`` (the item itself when empty)."""
        if steps and self.doc is not None:
            return locate(self.doc.tree, self.prefix + steps, key=key)
        if steps and self.row is not None:
            return self.row.line, self.row.column(str(steps[0]))
        return self.origin.line, self.origin.col

    def name(self, steps: Steps = ()) -> str:
        """``contacts[2].groups[0]`` for YAML, ``groups in row 7`` for CSV."""
        if not steps:
            return self.label
        if self.row is not None:
            return f"{steps[0]} in {self.label}"
        return where((self.label, *steps))


def _steps(path: str) -> Steps:
    return tuple(path.split("."))


class Resources:
    """Collects desired resources and problems from resource documents (see module docstring)."""

    def __init__(self, settings: Settings, repo: Repo, now: datetime) -> None:
        self.settings = settings
        self.repo = repo
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.fields = item_fields(RESOURCES_SCHEMA)
        self.desired: Desired = {}
        self.protect: dict[tuple[str, str, str], bool] = {}
        self.problems: list[Problem] = []
        self._rules: dict[str, Callable[[str, Mapping[str, Any]], list[tuple[str, str]]]] = {}

    def problem(
        self, site: Site, steps: Steps, message: str, *, key: bool = False, severity: str = "error"
    ) -> None:
        line, col = site.at(steps, key=key)
        self.problems.append(Problem(message, site.origin.path, line, col, severity))

    def check(self, docs: Iterable[tuple[Document, set[Steps]]]) -> Desired:
        """Check every document (with the schema's ``broken`` parts) and return the desired
        resources. Consumes the documents' item lists (see :func:`_consumed`)."""
        usable = []
        for doc, broken in docs:
            account = self._account(doc, broken)
            if account is not None:
                usable.append((doc, broken, account))
        for types in PASSES:
            for doc, broken, account in usable:
                assert doc.value is not None
                for type_ in types:
                    if type_ in doc.value and (type_,) not in broken:
                        self._type(doc, broken, account, type_)
        return self.desired

    def _account(self, doc: Document, broken: set[Steps]) -> str | None:
        if doc.value is None:
            message = "file declares nothing (add account: and resources, or delete the file)"
            self.problems.append(Problem(message, doc.path, 1, 1, "warning"))
            return None
        account = doc.value.get("account")
        if () in broken or not isinstance(account, str):
            return None
        if account not in self.settings.declared:
            names = sorted(self.settings.declared)
            close = difflib.get_close_matches(account, names, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            line, col = locate(doc.tree, ("account",))
            message = (
                f"account: unknown account '{account}' ({hint}accounts in reconciler.yaml: "
                f"{', '.join(names) or 'none'})"
            )
            self.problems.append(Problem(message, doc.path, line, col))
            return None
        return account if account in self.settings.accounts else None  # else reconciler.yaml is reported

    def _type(self, doc: Document, broken: set[Steps], account: str, type_: str) -> None:
        assert doc.value is not None
        info = self.settings.infos[account]
        supported = supported_types(info)
        if type_ not in supported:
            line, col = locate(doc.tree, (type_,), key=True)
            message = (
                f"{type_}: account {account} uses provider {info.name}, which does not support {type_} "
                f"(supported: {', '.join(supported)}; remove {type_} from this file or use another account)"
            )
            self.problems.append(Problem(message, doc.path, line, col))
            return
        allowed = self.fields[type_]
        offered = info.capabilities[type_].fields
        plain = plain_fields(allowed, offered)
        starts = doc.starts.get(type_, [])
        counted = len(starts)
        ahead: Ahead = doc.prepared or Ahead()
        for index, raw in _consumed(doc.value[type_]):
            if (broken and (type_, index) in broken) or type(raw) is not dict or index >= counted:
                continue
            line, col = starts[index]
            site = Site(Origin(doc.path, line, col), doc=doc, prefix=(type_, index))
            if raw.keys() <= plain:  # the usual item: nothing to leave out or report here
                self._item(account, info, type_, raw, site, None, ahead.get(type_, index))
                continue
            if type_ == "contacts" and "from_csv" in raw:
                self._csv(doc, account, info, raw, site)
                continue
            attrs = {}
            for name, value in raw.items():
                if name not in allowed or name == PROTECT:
                    continue  # the schema reported it; protect is read below
                if name not in offered:
                    self.problem(
                        site,
                        (name,),
                        f"{site.name((name,))}: provider {info.name} does not support "
                        f"field '{name}' for {type_} (supported: {', '.join(sorted(offered))}; "
                        "remove it)",
                        key=True,
                    )
                    continue
                attrs[name] = value
            protect = raw.get(PROTECT)
            self._item(account, info, type_, attrs, site, protect if isinstance(protect, bool) else None)

    def _csv(
        self, doc: Document, account: str, info: ProviderInfo, raw: Mapping[str, Any], site: Site
    ) -> None:
        if len(raw) > 1:
            others = ", ".join(sorted(set(raw) - {"from_csv"}))
            self.problem(
                site,
                (),
                f"{site.label}: a from_csv entry takes no other fields, found {others} "
                "(put them in CSV columns)",
            )
        target = str(raw["from_csv"])
        rel = self.repo.inside(doc.rel, target)
        if rel is None:
            self.problem(
                site,
                ("from_csv",),
                f"{site.name(('from_csv',))}: '{target}' is outside the config "
                "directory (keep CSV files inside it)",
            )
            return
        try:
            data = self.repo.read(rel)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            if not isinstance(exc, OutsideRoot):
                reason += " (the path is relative to this YAML file)"
            self.problem(site, ("from_csv",), f"{site.name(('from_csv',))}: cannot read '{target}': {reason}")
            return
        shown = self.repo.display(rel)
        allowed = self.fields["contacts"] - {"from_csv"}
        offered = info.capabilities["contacts"].fields
        header, rows, problems = read_rows(data, shown, allowed)
        self.problems.extend(problems)
        keep = set()
        for name in header.header if header else ():
            if name in allowed and name not in offered and name != PROTECT:
                col = header.column(name) if header else 1
                message = (
                    f"column '{name}': provider {info.name} does not support field '{name}' for contacts "
                    f"(supported: {', '.join(sorted(offered))}; remove the column)"
                )
                self.problems.append(Problem(message, shown, 1, col))
            elif name in allowed:
                keep.add(name)
        for row in rows:
            attrs = {name: value for name, value in row.attrs.items() if name in keep and name != PROTECT}
            row_site = Site(Origin(shown, row.line, 1), f"row {row.line}", row=row)
            protect = self._csv_flag(row_site, row.attrs.get(PROTECT))
            self._item(account, info, "contacts", attrs, row_site, protect)

    def _csv_flag(self, site: Site, value: object) -> bool | None:
        """A CSV ``protect`` cell: true/false (any case), empty for unset; anything else is a problem."""
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        steps = (PROTECT,)
        self.problem(
            site, steps, f"{site.name(steps)}: '{value}' is not true or false (write true, false or nothing)"
        )
        return None

    def _item(
        self,
        account: str,
        info: ProviderInfo,
        type_: str,
        attrs: dict[str, Any],
        site: Site,
        protect: bool | None = None,
        prepared: Prepared = None,
    ) -> None:
        settings = self.settings.accounts[account]
        region = settings.region
        if prepared is not None:
            normal, findings = prepared
            share_numbers(type_, normal)
        else:
            try:
                normal = normalize_attrs(type_, attrs, region, info.timezone)
            except InvalidValue as exc:
                self._value_problems(type_, attrs, site, region, info.timezone, exc)
                return
            findings = item_findings(type_, attrs, region, settings.number_validity)
        for steps, severity, message in findings:
            self.problem(site, steps, f"{site.name(steps)}: {message}", severity=severity)
        key = key_of(type_, normal)
        if not key:
            record = TYPES[type_]
            field = record.key_field
            what = (
                f"neither {field} nor {record.key_fallback} (add one of them)"
                if record.key_fallback
                else (f"an empty {field} (give it a {field})")
            )
            self.problem(site, (), f"{site.name()} has {what}")
            return
        rules = settings.ignore
        if rules and self._ignored(rules, type_, key, normal, site):
            return
        bucket = self.desired.setdefault((account, type_), {})
        first = bucket.get(key)
        if first is not None:
            self.problem(
                site,
                (),
                f"{site.name()}: duplicate {type_} key '{key}' for account {account} "
                f"(also declared at {first.origin}; remove one)",
            )
            return
        bucket[key] = Resource(account, type_, key, normal, None, site.origin)
        if protect is not None:
            self.protect[(account, type_, key)] = protect
        for ref in TYPES[type_].references:
            path, target = ref.path, ref.target
            names = get_path(normal, path)
            if names:
                declared = self.desired.get((account, target), {})
                for name in names:
                    if name not in declared:
                        self._undeclared(account, info, site, attrs, path, target, name)
        if info.validate_item is not None:
            for attr, message in self._provider_rules(info)(type_, normal):
                steps = _steps(attr)
                self.problem(site, steps, f"{site.name(steps)}: {message}")
        if info.sending is not None and type_ == info.sending.type:
            for finding in check_message(normal, info.sending, settings.policy, self.now):
                self._finding(site, attrs, finding)

    def _finding(self, site: Site, attrs: Mapping[str, Any], finding: Finding) -> None:
        """A message finding, at the offending character itself when it names one."""
        steps = _steps(finding.path)
        message = f"{site.name(steps)}: {finding.message}"
        raw = get_path(attrs, finding.path)
        if finding.index is not None and site.doc is not None and isinstance(raw, str):
            index = finding.index + len(raw) - len(raw.lstrip())  # the model strips values
            position = locate_char(site.doc, site.prefix + steps, index)
            if position is not None:
                self.problems.append(Problem(message, site.origin.path, *position, finding.severity))
                return
        self.problem(site, steps, message, severity=finding.severity)

    def _ignored(
        self, rules: tuple[IgnoreRule, ...], type_: str, key: str, attrs: Mapping[str, Any], site: Site
    ) -> bool:
        """Report a declared item an ignore rule hides (true), or declared fields it ignores."""
        rule = hiding_rule(rules, type_, key)
        if rule is not None:
            self.problem(
                site,
                (),
                f"{site.name()}: {type_} '{key}' is hidden by the ignore rule {rule} at {rule.origin} "
                "(remove the item, or narrow the rule's key)",
            )
            return True
        for name, rule in field_rules(rules, type_, key).items():
            if name in attrs:
                steps = (name,)
                self.problem(
                    site,
                    steps,
                    f"{site.name(steps)}: field '{name}' is ignored by the rule {rule} at {rule.origin} "
                    "(remove the field, or the field from the rule)",
                    key=True,
                )
        return False

    def _provider_rules(
        self, info: ProviderInfo
    ) -> Callable[[str, Mapping[str, Any]], list[tuple[str, str]]]:
        """``info.validate_item`` with ``now`` given (date rules follow load_config's)."""
        rules = self._rules.get(info.name)
        if rules is None:
            hook = info.validate_item
            assert hook is not None
            rules = functools.partial(hook, now=self.now)
            self._rules[info.name] = rules
        return rules

    def _undeclared(
        self,
        account: str,
        info: ProviderInfo,
        site: Site,
        attrs: Mapping[str, Any],
        path: str,
        target: str,
        name: str,
    ) -> None:
        steps = _steps(path)
        raw = get_path(attrs, path)
        if isinstance(raw, list) and site.doc is not None:
            index = next((i for i, item in enumerate(raw) if str(item).strip() == name), None)
            steps = steps if index is None else (*steps, index)
        if target not in supported_types(info):
            fix = f"provider {info.name} has no {target}; remove the reference"
        else:
            fix = f"declare it under {target}: for account {account}, or fix the name"
        singular = TYPES[target].singular
        self.problem(site, steps, f"{site.name(steps)}: {singular} '{name}' is not declared ({fix})")

    def _value_problems(
        self, type_: str, attrs: Mapping[str, Any], site: Site, region: str, tz: str, exc: InvalidValue
    ) -> None:
        """Report every unreadable number and date-time of an item (normalization stops at the first)."""
        before = len(self.problems)
        for path in NUMBER_FIELDS.get(type_, ()):
            raw = get_path(attrs, path)
            if raw not in (None, ""):
                self._try(site, _steps(path), normalize_number, raw, region, hint=NUMBER_HINT)
        for path in NUMBER_SET_FIELDS.get(type_, ()):
            raw = get_path(attrs, path)
            for index, number in enumerate(raw if isinstance(raw, list) else ()):
                self._try(site, (*_steps(path), index), normalize_number, number, region, hint=NUMBER_HINT)
        for path in LOCAL_TIME_FIELDS.get(type_, ()):
            raw = get_path(attrs, path)
            if raw is not None:
                self._try(site, _steps(path), local_time, raw)
        for path in INSTANT_FIELDS.get(type_, ()):
            raw = get_path(attrs, path)
            if raw is not None:
                self._try(site, _steps(path), instant, raw, tz)
        if len(self.problems) == before:
            steps = _steps(exc.path)
            self.problem(site, steps, f"{site.name(steps)}: {exc}")

    def _try(self, site: Site, steps: Steps, read: Any, *args: Any, hint: str = "") -> None:
        try:
            read(*args)
        except (InvalidNumber, ValueError) as exc:
            suffix = f" ({hint})" if hint else ""
            self.problem(site, steps, f"{site.name(steps)}: {exc}{suffix}")


def _consumed(items: list[Any]) -> Iterator[tuple[int, Any]]:
    """Each item with its index; its slot in ``items`` is emptied once the caller moves on.

    The raw items are not needed once their desired resources are built, and a big file's are
    let go while the rest are: at 100,000 contacts the peak of a plan's memory came right after a
    parse worker's prepared items arrived, with every raw item still held (about 50 MB).
    """
    for index, raw in enumerate(items):
        yield index, raw
        items[index] = None
