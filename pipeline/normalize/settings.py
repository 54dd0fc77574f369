"""Tunable settings of the normalization stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.normalize.dates import DEFAULT_EARLIEST
from pipeline.normalize.near_dup import (
    DEFAULT_BANDS,
    DEFAULT_MIN_SHINGLES,
    DEFAULT_NUM_PERM,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
)

__all__ = ["NormalizeSettings"]


class NormalizeSettings(BaseModel):
    """How entries become articles: dates, URLs, text limits and near-duplicate parameters.

    Changing ``shingle_size``, ``num_perm`` or ``bands`` changes every signature and
    band key: stored ones must then be recomputed before they are compared.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    future_tolerance: timedelta = Field(
        default=timedelta(days=1), description="dates later than fetch time plus this are clamped to the fetch time"
    )
    earliest_date: datetime = Field(
        default=DEFAULT_EARLIEST, description="dates before this are treated as missing (zero timestamps)"
    )
    tracking_params: tuple[str, ...] = Field(
        default=(), description="query parameters to drop from URLs, in addition to the built-in tracking list"
    )
    max_title_chars: int = Field(default=1000, ge=10, description="titles are cut to this length")
    max_text_chars: int = Field(default=200_000, ge=1000, description="article text is cut to this length")
    shingle_size: int = Field(default=DEFAULT_SHINGLE_SIZE, ge=1, le=10, description="words per shingle")
    num_perm: int = Field(default=DEFAULT_NUM_PERM, ge=16, le=1024, description="MinHash permutations")
    bands: int = Field(default=DEFAULT_BANDS, ge=1, description="LSH bands; must divide num_perm")
    min_shingles: int = Field(
        default=DEFAULT_MIN_SHINGLES, ge=1, description="texts with fewer shingles get no signature (exact hash only)"
    )
    near_dup_threshold: float = Field(
        default=DEFAULT_THRESHOLD, gt=0.0, le=1.0, description="estimated Jaccard similarity that makes a copy"
    )

    @field_validator("future_tolerance")
    @classmethod
    def _non_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value

    @field_validator("earliest_date")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _bands_divide(self) -> NormalizeSettings:
        if self.num_perm % self.bands:
            raise ValueError(f"bands ({self.bands}) must divide num_perm ({self.num_perm})")
        return self
