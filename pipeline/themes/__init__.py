"""Themes: a rule language an analyst can read, compiled once into a fast matcher.

Public API::

    load_theme_file(path) -> ThemeSet              # a YAML file
    parse_themes(data, origin) -> ThemeSet         # YAML already loaded: a list, or {themes:, define:}
    compile_themes(theme_set, settings=None) -> Matcher
    Matcher.match(text, title="", lang=None) -> list[ThemeHit]
    Matcher.themes -> tuple[ThemeInfo, ...]        # id, label, version, description, languages

The text matched is ``title + "\\n\\n" + text`` (``text`` alone without a title); evidence
offsets index into it. Invalid definitions raise
:class:`pipeline.errors.ThemeDefinitionError` naming the theme and the rule. The language
is documented in README.md beside this file.
"""

from pipeline.themes.matcher import Matcher, compile_themes
from pipeline.themes.model import ThemeDef, ThemeInfo, ThemeSet
from pipeline.themes.parse import load_theme_file, parse_themes
from pipeline.themes.settings import MatcherSettings
from pipeline.themes.text import combine

__all__ = [
    "Matcher",
    "MatcherSettings",
    "ThemeDef",
    "ThemeInfo",
    "ThemeSet",
    "combine",
    "compile_themes",
    "load_theme_file",
    "parse_themes",
]
