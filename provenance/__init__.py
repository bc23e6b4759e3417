"""provenance: does an image declare, or betray, generation or editing by AI?

>>> from provenance import check
>>> report = check("photo.jpg")
>>> report.verdict, report.confidence, report.summary

The library reads Content Credentials (C2PA) and ordinary metadata, matches
them against a database of documented markers and explains its verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["MissingExtraError", "Options", "Report", "__version__", "check", "check_bytes", "make_options"]

if TYPE_CHECKING:
    from provenance.api import MissingExtraError, Options, check, check_bytes, make_options
    from provenance.report import Report


def __getattr__(name: str) -> Any:
    # Lazy: ``import provenance`` stays cheap for the CLI's --version and help.
    if name in ("check", "check_bytes", "Options", "make_options", "MissingExtraError"):
        from provenance import api

        return getattr(api, name)
    if name == "Report":
        from provenance.report import Report

        return Report
    raise AttributeError(name)
