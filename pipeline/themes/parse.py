"""Read theme definitions (YAML, or data already loaded from YAML) into a :class:`ThemeSet`.

Every error is a :class:`ThemeDefinitionError` whose message names where it is:
``themes.yaml: theme 'returning_fighters', rule 3 (near): 'within' must be a positive integer (line 42)``.
The language itself is described in this package's README.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ThemeDefinitionError
from pipeline.themes.model import (
    AllOf,
    AnyOf,
    LanguageBlock,
    Near,
    Node,
    Not,
    Rule,
    ThemeDef,
    ThemeSet,
    is_positional,
    theme_version,
)
from pipeline.themes.text import Term, parse_term

_THEME_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_KINDS = ("any", "all", "not", "near", "exact", "ref")
# Keys a rule mapping may carry besides its kind key.
_OPTIONS: dict[str, tuple[str, ...]] = {
    "any": ("except",),
    "all": (),
    "not": (),
    "near": ("within", "ordered", "across_sentences", "except"),
    "exact": ("not_in_caps",),
    "ref": (),
}
_TOP_OPTIONS = ("weight", "name")  # only on a theme's top-level rules
_THEME_KEYS = ("id", "label", "description", "lang", "scope", "threshold", "rules", "languages")
_BLOCK_KEYS = ("rules", "scope", "threshold")
_FILE_KEYS = ("themes", "define")


class _LineDict(dict[Any, Any]):
    """A mapping that remembers the YAML line it started on (for error messages)."""

    line: int | None = None


# libyaml's loader when PyYAML was built with it: several times faster on a large theme file.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader, recording each mapping's line number."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineDict:
    out = _LineDict(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


class _SlowLineLoader(yaml.SafeLoader):
    """The same in pure Python, for error messages."""


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_SlowLineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_theme_file(path: str | Path) -> ThemeSet:
    """Read and parse a YAML theme file; errors name the file, theme, rule and line."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThemeDefinitionError(f"{p}: cannot read theme file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ThemeDefinitionError(f"{p}: theme file is not UTF-8 text: {exc}") from exc
    try:
        try:
            data = yaml.load(raw, Loader=_LineLoader)
        except yaml.YAMLError:
            data = yaml.load(raw, Loader=_SlowLineLoader)  # the pure-Python parser places errors better
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ThemeDefinitionError(f"{p}: invalid YAML: {problem}{where}") from exc
    return parse_themes(data, str(p))


def parse_themes(data: object, origin: str) -> ThemeSet:
    """Parse already-loaded YAML: a list of themes, or a mapping with ``themes:`` (and ``define:``)."""
    defines: Mapping[str, Any] = {}
    if data is None:
        data = []
    if isinstance(data, Mapping):
        _check_keys(data, _FILE_KEYS, f"{origin}: top level")
        if "themes" not in data:
            raise ThemeDefinitionError(f"{origin}: top level: missing 'themes' (a list of themes){_line(data)}")
        raw_defines = data.get("define") or {}
        if not isinstance(raw_defines, Mapping):
            raise ThemeDefinitionError(f"{origin}: 'define' must be a mapping of name: rule{_line(data)}")
        defines = raw_defines
        themes_raw = data["themes"] if data["themes"] is not None else []
    else:
        themes_raw = data
    if not isinstance(themes_raw, list):
        raise ThemeDefinitionError(f"{origin}: 'themes' must be a list of themes, got {_typename(themes_raw)}")
    ctx = _Context(origin=origin, defines=defines)
    for name in defines:
        if not isinstance(name, str) or not name:
            raise ThemeDefinitionError(f"{origin}: definition names must be non-empty strings, got {name!r}")
        ctx.resolve(name, f"{origin}: definition '{name}'", defines)
    themes: list[ThemeDef] = []
    seen: set[str] = set()
    for i, raw in enumerate(themes_raw, 1):
        theme = _parse_theme(raw, i, ctx)
        if theme.id in seen:
            raise ThemeDefinitionError(f"{origin}: theme '{theme.id}' is defined twice{_line(raw)}")
        seen.add(theme.id)
        themes.append(theme)
    return ThemeSet(themes=tuple(themes), origin=origin)


@dataclass
class _Context:
    """Parsing state: the file's origin and its named definitions (resolved once, shared)."""

    origin: str
    defines: Mapping[str, Any]
    resolved: dict[str, Node] = field(default_factory=dict)
    resolving: list[str] = field(default_factory=list)

    def resolve(self, name: str, where: str, raw_obj: object) -> Node:
        if name in self.resolved:
            return self.resolved[name]
        if name not in self.defines:
            known = ", ".join(sorted(map(str, self.defines))) or "none"
            raise ThemeDefinitionError(f"{where}: unknown definition '{name}' (defined: {known}){_line(raw_obj)}")
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name):], name])
            raise ThemeDefinitionError(f"{where}: definitions refer to each other in a loop: {cycle}")
        self.resolving.append(name)
        try:
            node = _parse_node(self.defines[name], f"{self.origin}: definition '{name}'", self)
        finally:
            self.resolving.pop()
        self.resolved[name] = node
        return node


def _parse_theme(raw: object, position: int, ctx: _Context) -> ThemeDef:
    if not isinstance(raw, Mapping):
        raise ThemeDefinitionError(f"{ctx.origin}: theme #{position} must be a mapping with 'id' and 'rules', "
                                   f"got {_typename(raw)}")
    tid = raw.get("id")
    if not isinstance(tid, str) or not _THEME_ID.match(tid):
        raise ThemeDefinitionError(f"{ctx.origin}: theme #{position}: 'id' must be a lower-case identifier "
                                   f"such as 'returning_fighters', got {tid!r}{_line(raw)}")
    where = f"{ctx.origin}: theme '{tid}'"
    _check_keys(raw, _THEME_KEYS, where)
    label = raw.get("label", tid.replace("_", " ").capitalize())
    description = raw.get("description", "")
    if not isinstance(label, str) or not isinstance(description, str):
        raise ThemeDefinitionError(f"{where}: 'label' and 'description' must be strings{_line(raw)}")
    lang = raw.get("lang", "en")
    _check_lang(lang, where, raw)
    threshold = _threshold(raw.get("threshold", 1.0), where, raw)
    scope = _parse_scope(raw.get("scope"), where, ctx, raw)
    blocks: list[LanguageBlock] = []
    if "rules" in raw:
        blocks.append(LanguageBlock(lang=lang, rules=_parse_rules(raw["rules"], where, ctx, raw),
                                    scope=scope, threshold=threshold))
    languages = raw.get("languages") or {}
    if not isinstance(languages, Mapping):
        raise ThemeDefinitionError(f"{where}: 'languages' must map a language code to its rules{_line(raw)}")
    for code, block in languages.items():
        _check_lang(code, where, raw)
        bwhere = f"{where}, language '{code}'"
        if any(b.lang == code for b in blocks):
            raise ThemeDefinitionError(f"{bwhere}: given twice (the theme's own rules are language '{lang}')")
        if not isinstance(block, Mapping):
            raise ThemeDefinitionError(f"{bwhere}: must be a mapping with 'rules'{_line(raw)}")
        _check_keys(block, _BLOCK_KEYS, bwhere)
        if "rules" not in block:
            raise ThemeDefinitionError(f"{bwhere}: missing 'rules'{_line(block)}")
        bscope = _parse_scope(block["scope"], bwhere, ctx, block) if "scope" in block else scope
        bthreshold = _threshold(block["threshold"], bwhere, block) if "threshold" in block else threshold
        blocks.append(LanguageBlock(lang=code, rules=_parse_rules(block["rules"], bwhere, ctx, block),
                                    scope=bscope, threshold=bthreshold))
    if not blocks:
        raise ThemeDefinitionError(f"{where}: has no rules (give 'rules' or 'languages'){_line(raw)}")
    return ThemeDef(id=tid, label=label, description=description.strip(), blocks=tuple(blocks),
                    version=theme_version(tid, tuple(blocks)))


def _parse_scope(raw: object, where: str, ctx: _Context, line_of: object) -> Node | None:
    """A scope is the name of a definition, or a rule written as a list or a mapping."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw not in ctx.defines:
            known = ", ".join(sorted(map(str, ctx.defines))) or "none"
            raise ThemeDefinitionError(f"{where}, scope: '{raw}' is not a definition (defined: {known}); "
                                       f"to gate on a term, write a list: scope: [{raw}]{_line(line_of)}")
        return ctx.resolve(raw, f"{where}, scope", line_of)
    return _parse_node(raw, f"{where}, scope", ctx, line_of)


def _parse_rules(raw: object, where: str, ctx: _Context, parent: object) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        raise ThemeDefinitionError(f"{where}: 'rules' must be a non-empty list{_line(parent)}")
    rules: list[Rule] = []
    for i, item in enumerate(raw, 1):
        kind = _kind_of(item)
        rwhere = f"{where}, rule {i} ({kind})"
        weight = 1.0
        name: str | None = None
        if isinstance(item, Mapping):
            if "weight" in item:
                weight = item["weight"]
                if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
                    raise ThemeDefinitionError(f"{rwhere}: 'weight' must be a number, got {weight!r}{_line(item)}")
                weight = float(weight)
            if "name" in item:
                name = item["name"]
                if not isinstance(name, str) or not name.strip():
                    raise ThemeDefinitionError(f"{rwhere}: 'name' must be a non-empty string{_line(item)}")
            line_of: object = item
            item = {k: v for k, v in item.items() if k not in _TOP_OPTIONS}
        else:
            line_of = parent
        rules.append(Rule(index=i, node=_parse_node(item, rwhere, ctx, line_of), weight=weight, name=name,
                          kind=kind))
    return tuple(rules)


def _kind_of(raw: object) -> str:
    if isinstance(raw, str):
        return "term"
    if isinstance(raw, list):
        return "any"
    if isinstance(raw, Mapping):
        kinds = [k for k in raw if k in _KINDS]
        if len(kinds) == 1:
            return str(kinds[0])
    return "rule"


def _parse_node(raw: object, where: str, ctx: _Context, line_of: object = None) -> Node:
    """Parse one rule node; ``where`` already names the theme and the rule, ``line_of`` its YAML line."""
    if isinstance(raw, str):
        return _term(raw, where, exact=False, not_in_caps=False, line_of=line_of)
    if isinstance(raw, list):
        return _any(raw, where, ctx, exclude=(), line_of=line_of)
    if not isinstance(raw, Mapping):
        raise ThemeDefinitionError(f"{where}: a rule must be a term (text), a list, or a mapping with one of "
                                   f"{', '.join(_KINDS)}; got {_typename(raw)}{_yaml_hint(raw)}")
    if _line_no(raw) is not None:
        line_of = raw
    kinds = [k for k in raw if k in _KINDS]
    if len(kinds) != 1:
        found = f"found {', '.join(map(str, kinds))}" if kinds else f"found keys {', '.join(map(str, raw))}"
        raise ThemeDefinitionError(f"{where}: a rule mapping needs exactly one of {', '.join(_KINDS)} "
                                   f"({found}){_line(line_of)}")
    kind = kinds[0]
    allowed = (kind, *_OPTIONS[kind])
    for key in raw:
        if key not in allowed:
            extra = " ('weight' and 'name' go on a theme's top-level rules only)" if key in _TOP_OPTIONS else ""
            raise ThemeDefinitionError(f"{where}: unknown key '{key}' in a '{kind}' rule "
                                       f"(allowed: {', '.join(allowed)}){extra}{_line(line_of)}")
    value = raw[kind]
    if kind == "exact":
        not_in_caps = raw.get("not_in_caps", False)
        if not isinstance(not_in_caps, bool):
            raise ThemeDefinitionError(f"{where}: 'not_in_caps' must be true or false{_line(line_of)}")
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ThemeDefinitionError(f"{where}: 'exact' needs at least one term{_line(line_of)}")
        terms = tuple(_term(v, where, exact=True, not_in_caps=not_in_caps, line_of=line_of) for v in items)
        return terms[0] if len(terms) == 1 else AnyOf(items=terms)
    if kind == "ref":
        if not isinstance(value, str):
            raise ThemeDefinitionError(f"{where}: 'ref' must name a definition, got {value!r}{_line(line_of)}")
        return ctx.resolve(value, where, line_of)
    if kind == "not":
        return Not(item=_parse_node(value, f"{where} > not", ctx, line_of))
    if kind == "all":
        if not isinstance(value, list) or not value:
            raise ThemeDefinitionError(f"{where}: 'all' must be a non-empty list of rules{_line(line_of)}")
        return AllOf(items=tuple(_parse_node(v, f"{where} > item {j}", ctx, line_of) for j, v in enumerate(value, 1)))
    exclude = _exclude(raw.get("except"), where, ctx, line_of)
    if kind == "any":
        if not isinstance(value, list):
            value = [value]
        return _any(value, where, ctx, exclude=exclude, line_of=line_of)
    return _near(raw, where, ctx, exclude, line_of)


def _any(items: list[Any], where: str, ctx: _Context, *, exclude: tuple[Term, ...],
         line_of: object = None) -> Node:
    if not items:
        raise ThemeDefinitionError(f"{where}: 'any' must list at least one rule{_line(line_of)}")
    nodes = tuple(_parse_node(v, f"{where} > item {j}", ctx, line_of) for j, v in enumerate(items, 1))
    if exclude and not all(is_positional(n) for n in nodes):
        raise ThemeDefinitionError(f"{where}: 'except' needs items with word positions (terms, exact, near), "
                                   f"not all/not{_line(line_of)}")
    return AnyOf(items=nodes, exclude=exclude)


def _near(raw: Mapping[str, Any], where: str, ctx: _Context, exclude: tuple[Term, ...], line_of: object) -> Near:
    operands = raw["near"]
    if not isinstance(operands, list) or len(operands) != 2:
        raise ThemeDefinitionError(f"{where}: 'near' must list exactly two operands, e.g. "
                                   f"near: [fighter*, return*]{_line(line_of)}")
    within = raw.get("within")
    if within is None:
        raise ThemeDefinitionError(f"{where}: 'near' needs 'within' (the largest distance in words){_line(line_of)}")
    if isinstance(within, bool) or not isinstance(within, int) or within < 1:
        raise ThemeDefinitionError(f"{where}: 'within' must be a positive integer, got {within!r}{_line(line_of)}")
    ordered = raw.get("ordered", False)
    across = raw.get("across_sentences", False)
    for key, flag in (("ordered", ordered), ("across_sentences", across)):
        if not isinstance(flag, bool):
            raise ThemeDefinitionError(f"{where}: '{key}' must be true or false, got {flag!r}{_line(line_of)}")
    nodes = []
    for j, v in enumerate(operands, 1):
        node = _parse_node(v, f"{where} > operand {j}", ctx, line_of)
        if not is_positional(node):
            raise ThemeDefinitionError(f"{where} > operand {j}: a 'near' operand must have word positions "
                                       f"(a term, exact, any of those, or near), not all/not{_line(line_of)}")
        nodes.append(node)
    return Near(left=nodes[0], right=nodes[1], within=within, ordered=ordered, exclude=exclude,
                across_sentences=across)


def _exclude(raw: object, where: str, ctx: _Context, line_of: object) -> tuple[Term, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out: list[Term] = []
    for v in items:
        if isinstance(v, Mapping) and set(v) == {"ref"}:
            out.extend(_excluded_terms(v["ref"], f"{where} > except", ctx, line_of))
        elif isinstance(v, Mapping) and set(v) <= {"exact", "not_in_caps"} and "exact" in v:
            vals = v["exact"] if isinstance(v["exact"], list) else [v["exact"]]
            out.extend(_term(x, f"{where} > except", exact=True, not_in_caps=False, line_of=line_of) for x in vals)
        else:
            out.append(_term(v, f"{where} > except", exact=False, not_in_caps=False, line_of=line_of))
    return tuple(out)


def _excluded_terms(name: object, where: str, ctx: _Context, line_of: object) -> list[Term]:
    """The terms of a definition named in an ``except`` list: a term, or a list of terms (nested lists too)."""
    if not isinstance(name, str):
        raise ThemeDefinitionError(f"{where}: 'ref' must name a definition, got {name!r}{_line(line_of)}")
    node = ctx.resolve(name, where, line_of)
    terms: list[Term] = []
    pending: list[Node] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, Term):
            terms.append(item)
        elif isinstance(item, AnyOf) and not item.exclude:
            pending.extend(reversed(item.items))
        else:
            raise ThemeDefinitionError(f"{where}: definition '{name}' must be a term or a list of terms to be used "
                                       f"in 'except' (no near, all, not or except inside){_line(line_of)}")
    return terms


def _term(raw: object, where: str, *, exact: bool, not_in_caps: bool, line_of: object) -> Term:
    if not isinstance(raw, str):
        raise ThemeDefinitionError(f"{where}: a term must be text, got {_typename(raw)} {raw!r}"
                                   f"{_yaml_hint(raw)}{_line(line_of)}")
    try:
        return parse_term(raw, exact=exact, not_in_caps=not_in_caps)
    except ValueError as exc:
        raise ThemeDefinitionError(f"{where}: {exc}{_line(line_of)}") from None


def _threshold(raw: object, where: str, line_of: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw <= 0:
        raise ThemeDefinitionError(f"{where}: 'threshold' must be a positive number, got {raw!r}{_line(line_of)}")
    return float(raw)


def _check_lang(code: object, where: str, line_of: object) -> None:
    if not isinstance(code, str) or not _LANG.match(code):
        raise ThemeDefinitionError(f"{where}: language must be a code such as 'en' or 'fr', got {code!r}"
                                   f"{_line(line_of)}")


def _check_keys(raw: Mapping[Any, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ThemeDefinitionError(f"{where}: unknown key '{key}' (allowed: {', '.join(allowed)}){_line(raw)}")


def _line_no(obj: object) -> int | None:
    line = getattr(obj, "line", None)
    return line if isinstance(line, int) else None


def _line(obj: object) -> str:
    line = _line_no(obj)
    return f" (line {line})" if line is not None else ""


def _typename(obj: object) -> str:
    if isinstance(obj, Mapping):
        return "a mapping"
    if isinstance(obj, list):
        return "a list"
    return "nothing" if obj is None else type(obj).__name__


def _yaml_hint(obj: object) -> str:
    if isinstance(obj, bool):
        return " (YAML reads yes/no/on/off/true/false as a boolean: put the term in quotes)"
    if isinstance(obj, int | float):
        return " (put numbers in quotes to use them as terms)"
    return ""
