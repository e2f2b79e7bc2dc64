"""Errors with a message meant for the user.

Anything raised as a DocchatError is printed by the CLI as one line (and shown by the TUI as a
notification); anything else is a bug and gets a traceback in the log.
"""

from __future__ import annotations


class DocchatError(Exception):
    """Base class: `str(err)` is a complete one-line message for the user."""

    exit_code = 1


class ConfigError(DocchatError):
    """A config file or value is wrong."""


class CollectionError(DocchatError):
    """A collection is missing, misnamed, or in a state that forbids the operation."""


class CollectionLocked(CollectionError):
    """Another process is writing the collection."""


class ModelMismatch(CollectionError):
    """The collection was embedded with another model than the one asked for."""


class StoreWriteError(CollectionError):
    """Writing a collection failed (disk full, read-only, I/O error); nothing was half-written."""


class VectorStoreError(CollectionError):
    """The vector store (a Milvus server or Milvus Lite file) cannot be reached or refused an
    operation; SQLite, the truth, is untouched by the failure."""


class ModelError(DocchatError):
    """A model cannot be found, loaded or run."""


class ModelCrashed(ModelError):
    """The model's own process died (a signal, out of memory, abort() in native code); the
    next request starts a new one."""


class MissingDependency(DocchatError):
    """An optional library is not installed; the message says what to install."""


class ParseError(DocchatError):
    """A file could not be parsed; the indexer records it and goes on."""


class UnsupportedFile(DocchatError):
    """A file is binary or of an unknown type; the indexer skips it with this reason."""


def missing(package: str, feature: str) -> MissingDependency:
    """The error for an optional library that is not installed."""
    return MissingDependency(f"{feature} needs the '{package}' package: pip install {package}")
