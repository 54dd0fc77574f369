"""The one configuration schema, validated once at start.

``load_config(path)`` reads YAML, substitutes ``${ENV}`` references, validates every
key against :class:`Config` (unknown keys are errors) and returns a frozen value.
Every error is a :class:`~pipeline.errors.ConfigError` naming the YAML path and line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.alerts.settings import AlertSettings
from pipeline.errors import ConfigError
from pipeline.fetch.settings import FetchSettings
from pipeline.normalize.settings import NormalizeSettings
from pipeline.signals.settings import SignalSettings
from pipeline.themes.settings import MatcherSettings
from pipeline.validation import HttpURL

if TYPE_CHECKING:
    from pipeline.themes import Matcher, ThemeSet

DEFAULT_CONFIG = "config.yaml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Strict):
    url: str = Field(min_length=1)


class SourceSettings(_Strict):
    name: str = Field(min_length=1, max_length=200)
    url: HttpURL = Field(min_length=1)
    enabled: bool = True
    poll_interval_minutes: float | None = Field(default=None, gt=0)  # overrides fetch.poll_interval


class WebSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: str | None = None  # bearer token for actions; without it actions are refused
    base_url: str | None = None  # public URL of the review page, for links in notifications


class ServiceSettings(_Strict):
    tick_seconds: float = Field(default=60, gt=0)  # how often the scheduler looks for due feeds
    detect_interval_minutes: float = Field(default=60, gt=0)
    # Alerts for windows that ended more than this many windows ago (backfills, a first start over imported
    # history) are stored for review without notifying anyone; None notifies them all.
    notify_max_age_windows: int | None = Field(default=3, ge=0)
    # A window is judged only this long after it closes, so late-polled articles of its last hours count.
    detect_grace_minutes: float = Field(default=90, ge=0)
    dispatch_interval_seconds: float = Field(default=30, gt=0)
    retention_days: int | None = Field(default=400, gt=0)  # articles older than this are pruned; None keeps all
    worker_id: str | None = None  # defaults to host:pid
    # How long a worker holds the feeds it claimed: longer than a batch can take (claim_batch feeds at
    # fetch.max_per_host on one slow host, each up to fetch.total_timeout).
    lease_seconds: float = Field(default=3600, gt=0)
    claim_batch: int = Field(default=100, ge=1)  # feeds one worker leases at a time within a cycle
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Strict):
    """The whole configuration file."""

    database: DatabaseSettings
    sources: list[SourceSettings] = Field(default_factory=list)
    themes: Any = None  # a path (str) or inline definitions; compiled by load_config
    matcher: MatcherSettings = MatcherSettings()  # evidence snippets, text caps, caches of the theme matcher
    fetch: FetchSettings = FetchSettings()
    normalize: NormalizeSettings = NormalizeSettings()
    signals: SignalSettings = SignalSettings()
    alerts: AlertSettings = AlertSettings()
    web: WebSettings = WebSettings()
    service: ServiceSettings = ServiceSettings()
    # Where the config file lives: relative paths resolve against it.
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _unique_source_names(self) -> Config:
        seen: set[str] = set()
        for s in self.sources:
            if s.name in seen:
                raise ValueError(f"source name {s.name!r} is used twice")
            seen.add(s.name)
        return self


_SCALARS = yaml.constructor.SafeConstructor()  # resolves int, float, bool, null and timestamp scalars


class _Located:
    """Plain data built from a YAML node tree, remembering each path's line."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.lines: dict[tuple[str | int, ...], int] = {}
        self.data: Any = None

    def build(self, node: yaml.Node, path: tuple[str | int, ...] = ()) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = key_node.value
                if key in out:
                    raise ConfigError(f"{self.origin}:{key_node.start_mark.line + 1}: {_dotted((*path, key))}: "
                                      "key given twice")
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, (*path, i)) for i, v in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        value = node.value if node.tag == "tag:yaml.org,2002:str" else _SCALARS.construct_object(node)
        if isinstance(value, str):
            value = self._substitute(value, path)
            if node.style is None and value != node.value:
                value = yaml.safe_load(value) if value else value
        return value

    def _substitute(self, value: str, path: tuple[str | int, ...]) -> str:
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(f"{self.where(path)}: environment variable {name} is not set")

        return _ENV_REF.sub(repl, value)

    def where(self, path: tuple[str | int, ...]) -> str:
        probe = path
        while probe not in self.lines and probe:
            probe = probe[:-1]
        line = self.lines.get(probe)
        loc = f"{self.origin}:{line}" if line else self.origin
        return f"{loc}: {_dotted(path)}" if path else loc


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def read_yaml(path: Path) -> tuple[Any, _Located]:
    """Read a YAML file into plain data, with a line map for error messages."""
    loc = _Located(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        try:
            node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            # libyaml is fast but places some errors at the end of the input; the pure-Python parser
            # names the line where the document went wrong.
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    loc.data = loc.build(node) if node is not None else None
    return loc.data, loc


def config_path(explicit: str | Path | None) -> Path:
    """``--config`` wins over ``PIPELINE_CONFIG``, which wins over ./config.yaml."""
    return Path(explicit or os.environ.get("PIPELINE_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | Path | None = None, *, apply_env: bool = True) -> Config:
    """Load, substitute, validate and return the configuration."""
    p = config_path(path)
    data, loc = read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the config must be a mapping with at least 'database'")
    if apply_env:
        if os.environ.get("PIPELINE_DATABASE_URL"):
            data.setdefault("database", {})
            if isinstance(data["database"], dict):
                data["database"]["url"] = os.environ["PIPELINE_DATABASE_URL"]
        if os.environ.get("PIPELINE_WEB_PORT"):
            web = data.setdefault("web", {})
            if isinstance(web, dict):
                web["port"] = os.environ["PIPELINE_WEB_PORT"]
    if isinstance(data.get("sources"), str):
        src_path = _resolve(p.parent, data["sources"])
        src_data, src_loc = read_yaml(src_path)
        if isinstance(src_data, dict) and "sources" in src_data:
            src_data = src_data["sources"]
        try:
            data["sources"] = [SourceSettings.model_validate(s) for s in (src_data or [])]
        except ValidationError as exc:
            raise _as_config_error(exc, src_loc, prefix=()) from None
    data["base_dir"] = p.parent.resolve()
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise _as_config_error(exc, loc) from None
    # Compile the themes now so a bad rule fails at start, naming the theme and rule.
    load_theme_set(cfg)
    return cfg


def _resolve(base: Path, rel: str) -> Path:
    path = Path(rel).expanduser()
    return path if path.is_absolute() else base / path


def _as_config_error(exc: ValidationError, loc: _Located, prefix: tuple[str | int, ...] = ()) -> ConfigError:
    lines = []
    for err in exc.errors():
        path = prefix + _yaml_path(loc.data, tuple(p for p in err["loc"] if isinstance(p, (str, int))))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{loc.where(path)}: {msg}")
    return ConfigError("\n".join(lines))


def _yaml_path(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop the parts of a pydantic error location that are not in the YAML (e.g. union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            out.append(part)
        elif isinstance(node, (dict, list)):
            continue  # a tag pydantic adds (the union member's name), not a key of the file
        else:
            out.append(part)
    return tuple(out)


def build_matcher(cfg: Config) -> Matcher:
    """The configured themes compiled into a matcher with the configured matcher settings."""
    from pipeline.themes import compile_themes

    return compile_themes(load_theme_set(cfg), cfg.matcher)


_THEME_FILES: dict[tuple[str, int, int], ThemeSet] = {}


def load_theme_set(cfg: Config) -> ThemeSet:
    """Load and check the configured themes (a path or inline definitions).

    A theme file is read once per process while it is unchanged (start-up checks it, the matcher
    is then built from it): keyed by path, size and modification time.
    """
    from pipeline.themes import load_theme_file, parse_themes

    if cfg.themes is None:
        return parse_themes([], "themes (none configured)")
    if isinstance(cfg.themes, str):
        path = _resolve(cfg.base_dir, cfg.themes)
        try:
            st = path.stat()
        except OSError:
            return load_theme_file(path)  # raises the clear "cannot read" error
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _THEME_FILES:
            _THEME_FILES[key] = load_theme_file(path)
        return _THEME_FILES[key]
    return parse_themes(cfg.themes, "config.yaml: themes")
