"""The signing fixtures of the hostile suite, for the judge tests that sign files of their own."""

from __future__ import annotations

from tests.hostile.conftest import samples_module, signer

__all__ = ["samples_module", "signer"]
