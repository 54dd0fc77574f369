"""Invalid definitions raise ThemeDefinitionError naming the theme and the rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError, ThemeDefinitionError
from pipeline.themes import compile_themes, load_theme_file, parse_themes


def error_of(data: Any) -> str:
    with pytest.raises(ThemeDefinitionError) as info:
        parse_themes(data, "themes.yaml")
    return str(info.value)


def theme(*rules: Any, **keys: Any) -> list[dict[str, Any]]:
    return [{"id": "returning_fighters", "rules": list(rules), **keys}]


@pytest.mark.parametrize(("rules", "expected"), [
    (["a", "b", {"near": ["fighter*", "return*"], "within": 0}],
     "theme 'returning_fighters', rule 3 (near): 'within' must be a positive integer, got 0"),
    ([{"near": ["fighter*", "return*"], "within": "8"}], "rule 1 (near): 'within' must be a positive integer"),
    ([{"near": ["fighter*", "return*"], "within": True}], "rule 1 (near): 'within' must be a positive integer"),
    ([{"near": ["fighter*", "return*"]}], "rule 1 (near): 'near' needs 'within'"),
    ([{"near": ["fighter*"], "within": 3}], "rule 1 (near): 'near' must list exactly two operands"),
    ([{"near": ["a", {"not": "b"}], "within": 3}], "rule 1 (near) > operand 2: a 'near' operand must have word"),
    ([{"near": ["a", "b"], "within": 3, "ordered": "yes"}], "rule 1 (near): 'ordered' must be true or false"),
    ([{"near": ["a", "b"], "within": 3, "wihtin": 3}], "rule 1 (near): unknown key 'wihtin'"),
    (["a", {"any": ["b"], "color": "red"}], "rule 2 (any): unknown key 'color' in a 'any' rule"),
    ([{"any": []}], "rule 1 (any): 'any' must list at least one rule"),
    ([{"all": "x"}], "rule 1 (all): 'all' must be a non-empty list"),
    ([{"any": ["a"], "all": ["b"]}], "rule 1 (rule): a rule mapping needs exactly one of"),
    ([{"weight": 2}], "rule 1 (rule): a rule mapping needs exactly one of"),
    ([{"any": ["a"], "weight": "heavy"}], "rule 1 (any): 'weight' must be a number"),
    ([{"any": [{"any": ["a"], "weight": 2}]}], "rule 1 (any) > item 1: unknown key 'weight'"),
    (["a", ""], "rule 2 (term): a term must not be empty"),
    (["*"], "rule 1 (term): term '*': a wildcard '*' must be attached to letters"),
    (["--"], "rule 1 (term): term '--' has no letters or digits"),
    ([True], "rule 1 (rule): a rule must be a term (text), a list, or a mapping"),
    ([{"any": ["a", 2015]}], "rule 1 (any) > item 2: a rule must be a term"),
    ([{"exact": ["IS", False]}], "rule 1 (exact): a term must be text, got bool"),
    ([{"exact": "IS", "not_in_caps": "sometimes"}], "rule 1 (exact): 'not_in_caps' must be true or false"),
    ([{"any": ["a", {"all": ["b"]}], "except": ["c"]}], "rule 1 (any): 'except' needs items with word positions"),
    ([{"ref": "nowhere"}], "rule 1 (ref): unknown definition 'nowhere'"),
])
def test_rule_errors_name_theme_and_rule(rules: list[Any], expected: str) -> None:
    message = error_of(theme(*rules))
    assert message.startswith("themes.yaml: theme 'returning_fighters'")
    assert expected in message


def test_yaml_booleans_get_a_hint() -> None:
    assert "put the term in quotes" in error_of(theme({"any": ["yes", True]}))


@pytest.mark.parametrize(("data", "expected"), [
    ({"themes": [], "thmes": []}, "top level: unknown key 'thmes'"),
    ({"define": {}}, "missing 'themes'"),
    ({"themes": {"id": "x"}}, "'themes' must be a list"),
    (["just text"], "theme #1 must be a mapping"),
    ([{"rules": ["a"]}], "theme #1: 'id' must be a lower-case identifier"),
    ([{"id": "Bad Id", "rules": ["a"]}], "'id' must be a lower-case identifier"),
    ([{"id": "t"}], "theme 't': has no rules"),
    ([{"id": "t", "rules": []}], "theme 't': 'rules' must be a non-empty list"),
    ([{"id": "t", "rules": ["a"], "treshold": 2}], "theme 't': unknown key 'treshold'"),
    ([{"id": "t", "rules": ["a"], "threshold": 0}], "theme 't': 'threshold' must be a positive number"),
    ([{"id": "t", "rules": ["a"], "label": 3}], "theme 't': 'label' and 'description' must be strings"),
    ([{"id": "t", "rules": ["a"], "languages": {"fr": {"regles": ["b"]}}}],
     "theme 't', language 'fr': unknown key 'regles'"),
    ([{"id": "t", "rules": ["a"], "languages": {"en": {"rules": ["b"]}}}], "theme 't', language 'en': given twice"),
    ([{"id": "t", "rules": ["a"], "languages": {"French": {"rules": ["b"]}}}], "language must be a code"),
    ([{"id": "t", "rules": ["a"], "languages": {"fr": {"rules": [{"near": ["a", "b"], "within": -1}]}}}],
     "theme 't', language 'fr', rule 1 (near): 'within' must be a positive integer"),
    ([{"id": "t", "scope": {"any": []}, "rules": ["a"]}], "theme 't', scope: 'any' must list at least one rule"),
    ([{"id": "t", "scope": "jihadist_scop", "rules": ["a"]}],
     "theme 't', scope: 'jihadist_scop' is not a definition (defined: none); to gate on a term, write a list"),
    ([{"id": "t", "rules": ["a"]}, {"id": "t", "rules": ["b"]}], "theme 't' is defined twice"),
    ({"define": {"a": {"ref": "b"}, "b": {"ref": "a"}}, "themes": []}, "loop: a -> b -> a"),
    ({"define": {"a": {"near": ["x"], "within": 2}}, "themes": []}, "definition 'a': 'near' must list exactly two"),
    ({"define": ["a"], "themes": []}, "'define' must be a mapping"),
])
def test_structure_errors(data: Any, expected: str) -> None:
    assert expected in error_of(data)


def test_error_is_a_config_error_and_value_error() -> None:
    with pytest.raises(ConfigError):
        parse_themes(theme({"near": ["a", "b"], "within": 0}), "x")
    with pytest.raises(ValueError, match=re.escape("rule 1 (near)")):
        parse_themes(theme({"near": ["a", "b"], "within": 0}), "x")


def test_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(
        "themes:\n"
        "  - id: returning_fighters\n"
        "    rules:\n"
        "      - returnee*\n"
        "      - near: [fighter*, return*]\n"
        "        within: eight\n",
        encoding="utf-8",
    )
    with pytest.raises(ThemeDefinitionError) as info:
        load_theme_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: theme 'returning_fighters', rule 2 (near): 'within' must be a positive")
    assert message.endswith("(line 5)")


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  - id: x\n    rules: [a, b\n", encoding="utf-8")
    with pytest.raises(ThemeDefinitionError, match=r"bad.yaml: invalid YAML: .*\(line \d+, column \d+\)"):
        load_theme_file(bad)
    with pytest.raises(ThemeDefinitionError, match="cannot read theme file"):
        load_theme_file(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ThemeDefinitionError, match="not UTF-8"):
        load_theme_file(binary)


def test_empty_definitions_are_valid() -> None:
    empty: list[object] = [[], None, {"themes": None}, {"themes": [], "define": None}]
    for data in empty:
        ts = parse_themes(data, "none")
        assert ts.themes == ()
        assert compile_themes(ts).match("anything at all") == []
