"""YAML reading: plain values with positions, scalar rules, and refusals (tags, anchors, several docs)."""

from __future__ import annotations

from datetime import datetime

from reconciler.config.csvsource import cell_columns, read_rows
from reconciler.config.yamlfile import Text, locate, parse


def load(text: str | bytes, spec: object = None) -> tuple[object, list[str]]:
    """Parse ``text`` as file ``f.yaml``: the built value and the problem lines."""
    data = text.encode() if isinstance(text, str) else text
    doc, problems = parse(data, "f.yaml", "f.yaml", spec)
    return doc.value, [str(p) for p in problems]


def test_yaml_12_booleans_keep_norway() -> None:
    """Only true/false are booleans: NO, yes, on stay strings; null and numbers follow YAML."""
    value, problems = load("a: NO\nb: yes\nc: true\nd: False\ne: ~\nf: 12\ng: 1.5\nh: 'true'\n")
    assert value == {"a": "NO", "b": "yes", "c": True, "d": False, "e": None, "f": 12, "g": 1.5, "h": "true"}
    assert problems == []


def test_string_fields_keep_text_as_written() -> None:
    """Where the spec expects text, unquoted numbers and timestamps keep their exact text."""
    spec = {"m": Text, "t": Text, "n": [Text], "x": None}
    value, _ = load(
        "m: 0701234567\nt: 2026-12-01T08:30:00\nn: [+4670123, 00471234]\nx: 2026-12-01T08:30:00\n", spec
    )
    assert value == {
        "m": "0701234567",
        "t": "2026-12-01T08:30:00",
        "n": ["+4670123", "00471234"],
        "x": datetime(2026, 12, 1, 8, 30),
    }


def test_positions_are_one_based_characters() -> None:
    """locate gives 1-based line and column counted in characters (not bytes), for keys and values."""
    doc, _ = parse("å: 1\nlist:\n  - {name: ä, other: x}\n".encode(), "f.yaml", "f.yaml")
    assert locate(doc.tree, ("å",)) == (1, 4)
    assert locate(doc.tree, ("list", 0, "other"), key=True) == (3, 15)
    assert locate(doc.tree, ("list", 0, "other")) == (3, 22)
    assert locate(doc.tree, ("list", 5, "other")) == (3, 3)  # missing: the deepest existing node
    assert doc.starts == {"list": [(3, 5)]}


def test_empty_files_and_bom() -> None:
    """Empty and comment-only files have no value and no problem; a UTF-8 BOM is accepted."""
    assert load("") == (None, [])
    assert load("# only a comment\n") == (None, [])
    assert load("---\n") == (None, [])
    assert load(b"\xef\xbb\xbfa: 1\n") == ({"a": 1}, [])


def test_refusals_are_positioned() -> None:
    """Tags, merge keys, complex keys and a scalar document are reported where they are written."""
    assert load("a: !secret x\n")[1] == ["f.yaml:1:4: YAML tag '!secret' is not supported (remove it)"]
    assert load("a: !!binary aGk=\n")[1] == ["f.yaml:1:4: YAML tag '!!binary' is not supported (remove it)"]
    assert load("a: !!int\n")[1] == ["f.yaml:1:4: '' is not a valid !!int (fix the value or remove the tag)"]
    assert load("a: !!set {x}\n")[1] == ["f.yaml:1:4: YAML tag '!!set' is not supported (remove it)"]
    assert load("<<: {a: 1}\n")[1] == [
        "f.yaml:1:1: merge keys (<<) are not supported (write plain key: value pairs)"
    ]
    assert load("? [a]\n: 1\n")[1] == [
        "f.yaml:1:3: complex or tagged keys are not supported (write plain key: value pairs)"
    ]
    assert load("just text\n")[1] == [
        "f.yaml:1:1: the file must hold a mapping of keys (key: value), not a single value (see the config reference)"
    ]


def test_unused_anchor_and_alias_are_refused() -> None:
    """Any anchor makes the file an error at the anchor, even a harmless-looking one."""
    assert load("a: &x 1\nb: *x\n")[1] == [
        (
            "f.yaml:1:4: YAML anchors and aliases are not supported: anchor '&x' (1 anchor and 1 alias in this "
            "file; write each value out in full)"
        )
    ]
    assert load("a: 'Q&A *here*'\n") == ({"a": "Q&A *here*"}, [])


def test_env_reference_in_flow_mapping_gets_a_quoting_hint() -> None:
    """An unquoted ${VAR} inside { } breaks YAML; the error says to quote it."""
    assert load("c: {user: ${USER}, pw: x}\n")[1] == [
        (
            "f.yaml:1:12: invalid YAML: did not find expected ',' or '}' "
            '(inside { } or [ ], quote values that use ${...}: write "${NAME}")'
        )
    ]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    """Pathologically deep nesting gives a problem instead of a RecursionError."""
    _, problems = load("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert len(problems) == 1


def test_csv_columns_respect_quotes() -> None:
    """Cell start columns skip commas inside quotes."""
    assert cell_columns('a,"b, c",d\n') == [1, 3, 10]


def test_csv_problems_and_rows() -> None:
    """Unknown and repeated header columns and unbalanced rows are positioned; good rows are kept."""
    data = b"mobile,nick,mobile\n1,2,3\n4,5\n\n"
    header, rows, problems = read_rows(data, "c.csv", {"mobile", "groups"})
    assert [str(p) for p in problems] == [
        "c.csv:1:8: unknown column 'nick' in the CSV header (allowed: groups, mobile)",
        "c.csv:1:13: column 'mobile' appears twice in the CSV header (remove one)",
        "c.csv:3:1: row has 2 cells but the header has 3 (quote cells that contain commas)",
    ]
    assert header is not None and [row.line for row in rows] == [2]
    _, _, problems = read_rows(b"", "e.csv", {"mobile"})
    assert [str(p) for p in problems] == [
        (
            "e.csv:1:1: CSV file has no header row (start it with the field names, e.g. "
            "mobile,first_name,last_name,groups)"
        )
    ]
