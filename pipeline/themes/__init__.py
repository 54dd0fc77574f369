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

from typing import TYPE_CHECKING

from pipeline.lazy import lazy_attributes

if TYPE_CHECKING:
    from pipeline.themes.matcher import Matcher, compile_themes
    from pipeline.themes.model import ThemeDef, ThemeInfo, ThemeSet
    from pipeline.themes.parse import load_theme_file, parse_themes
    from pipeline.themes.settings import MatcherSettings
    from pipeline.themes.text import combine

# Each name loads its module on first use: the config schema imports this package for MatcherSettings,
# and a command that only reads the theme file (every command checks it at start) needs no matcher.
_LAZY = {
    "Matcher": "matcher",
    "compile_themes": "matcher",
    "ThemeDef": "model",
    "ThemeInfo": "model",
    "ThemeSet": "model",
    "load_theme_file": "parse",
    "parse_themes": "parse",
    "MatcherSettings": "settings",
    "combine": "text",
}


__getattr__ = lazy_attributes(__name__, _LAZY)

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
