"""The exception tree of the project.

Every error the project raises on purpose derives from :class:`PipelineError`;
third-party errors (httpx, SQLAlchemy, feedparser, smtplib, YAML) are wrapped at
the border where they occur, so callers only ever catch our own types::

    PipelineError
    ├── ConfigError(ValueError)          bad config file or value (exit code 2)
    ├── InputError(ValueError)           bad command-line or file input (exit code 2)
    ├── ThemeDefinitionError(ConfigError) an invalid theme rule, naming theme and rule
    ├── StorageError                     the database failed or is not migrated
    │   └── NotFoundError(LookupError)   a row that was asked for does not exist
    ├── FetchError                       a feed could not be fetched
    │   ├── FetchTimeout                 connect/read/total timeout
    │   ├── BodyTooLarge                 body over the configured cap
    │   └── BlockedURL                   refused by the SSRF policy
    ├── ParseError                       a feed document could not be read at all
    └── DeliveryError                    a notification could not be delivered
                                         (``permanent`` tells give-up from retry)
"""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every error raised by the pipeline."""


class ConfigError(PipelineError, ValueError):
    """The configuration is invalid; the message names the YAML path and line."""


class InputError(PipelineError, ValueError):
    """Input given on the command line or in an input file is invalid."""


class ThemeDefinitionError(ConfigError):
    """A theme definition is invalid; the message names the theme and the rule."""


class StorageError(PipelineError):
    """The database refused or failed an operation."""


class NotFoundError(StorageError, LookupError):
    """A row that was asked for by id does not exist."""


class FetchError(PipelineError):
    """A feed could not be fetched.

    ``retry_after`` carries the server's Retry-After delay in seconds, if any;
    ``status`` the HTTP status code when a response was received.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FetchTimeout(FetchError):
    """Connecting, reading or the whole fetch took longer than allowed."""


class BodyTooLarge(FetchError):
    """The (decompressed) body exceeded the configured maximum size."""


class BlockedURL(FetchError):
    """The URL is refused by policy (scheme, or a private address when disallowed)."""


class ParseError(PipelineError):
    """A fetched document is not a feed that any entry could be read from."""


class DeliveryError(PipelineError):
    """A notification could not be delivered.

    ``permanent`` is True when retrying cannot help (a 4xx answer other than
    408/429, a rejected recipient); ``retry_after`` is a server-given delay.
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
