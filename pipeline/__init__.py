"""News threat-trend monitor: feeds in, theme signals and explainable alerts out."""

__version__ = "0.1.0"
