"""The app's log file: the same crash-proof file handler the CLI installs (docchat.logs)."""

from __future__ import annotations

from docchat.logs import setup_logging

__all__ = ["setup_logging"]
