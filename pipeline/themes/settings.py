"""Tunable settings of the theme matcher (composed into the project config by pipeline/config.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MatcherSettings(BaseModel):
    """How much evidence a hit carries, and how much text is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snippet_chars: int = Field(default=60, ge=0, le=1000)  # context kept on each side of an evidence span
    max_evidence_per_rule: int = Field(default=3, ge=1, le=100)  # spans stored per matched rule
    max_text_chars: int = Field(default=1_000_000, ge=1)  # longer texts are matched on their first part only
    word_cache_size: int = Field(default=200_000, ge=0)  # distinct words remembered between texts
