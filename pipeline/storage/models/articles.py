"""The ``articles`` aggregate: stored articles, their near-duplicate keys and theme hits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.storage.models.base import Base, JSONType, UTCDateTime


class Article(Base):
    """One stored article (one row per source and entry identity)."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    date_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    # Story cluster: syndicated copies point at the cluster's first article; NULL means the article is
    # its own cluster (read it as coalesce(cluster_id, id)), which saves an UPDATE per new story.
    cluster_id: Mapped[int | None] = mapped_column(Integer)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # packed MinHash signature
    # Digest of the feed entry's raw fields (normalize.article.entry_digest): equal on the next poll means
    # unchanged, known before normalizing. NULL for imports and for rows stored before revision 0002.
    entry_digest: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("source_id", "identity"),
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_url", "url"),
        Index("ix_articles_content_hash", "content_hash"),
        Index("ix_articles_cluster_id", "cluster_id"),
    )


class ArticleBand(Base):
    """LSH band keys of an article's MinHash signature: candidate near-duplicates share one."""

    __tablename__ = "article_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # see band_ints
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_article_bands_article_id", "article_id"),)


class ArticleTheme(Base):
    """A theme an article carries, with its score, evidence and definition version."""

    __tablename__ = "article_themes"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(100), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[Any] = mapped_column(JSONType)  # list of {start, end, term, snippet}
    version: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_article_themes_theme", "theme"),)
