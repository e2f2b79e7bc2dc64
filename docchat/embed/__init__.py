"""Embeddings: an Embedder base with one abstract method, backends in a registry."""

from docchat.embed.base import Embedder
from docchat.embed.registry import create_embedder, register_embedder

__all__ = ["Embedder", "create_embedder", "register_embedder"]
