"""Config layers, validation messages, and the example file staying in sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from docchat.config import load_settings, save_setting
from docchat.config_example import render
from docchat.errors import ConfigError

ROOT = Path(__file__).parent.parent


def test_example_file_documents_every_field() -> None:
    assert (ROOT / "config.example.toml").read_text(encoding="utf-8") == render(), (
        "config.example.toml is stale: python -m docchat.config_example > config.example.toml"
    )


def test_example_file_loads_as_the_defaults() -> None:
    from docchat.config import Settings

    assert load_settings(ROOT / "config.example.toml", environ={}) == Settings()


def test_layers_file_then_env_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[search]\nk = 7\nmode = "dense"\n[embed]\nbatch_size = 8\n')
    env = {"DOCCHAT_SEARCH_K": "9", "DOCCHAT_INDEX_EXCLUDE": "*.log, build/"}
    s = load_settings(cfg, overrides={"embed": {"batch_size": 4}}, environ=env)
    assert (s.search.k, s.search.mode, s.embed.batch_size) == (9, "dense", 4)
    assert s.index.exclude == ["*.log", "build/"]


def test_docchat_config_env_points_at_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text("[search]\nk = 3\n")
    assert load_settings(environ={"DOCCHAT_CONFIG": str(cfg)}).search.k == 3


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[search]\nmode = "psychic"\n', "search.mode = 'psychic'"),
        ("[search]\nk = 0\n", "search.k = 0"),
        ('[embed]\ndevice = "tpu"\n', "'auto', 'cpu', 'cuda' or 'mps'"),
        ("[serch]\nk = 3\n", "unknown key 'serch'"),
        ("[search\nk = 3\n", "not valid TOML"),
    ],
)
def test_bad_values_are_one_line_errors_naming_key_and_file(
    tmp_path: Path, toml: str, needle: str
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    message = str(err.value)
    assert needle in message and str(cfg) in message and "\n" not in message


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"DOCCHAT_EMBED_BATCH_SIZE.*embed\.batch_size"):
        load_settings(environ={"DOCCHAT_EMBED_BATCH_SIZE": "many"})


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_save_setting_keeps_other_values_and_validates(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[search]\nk = 7\n")
    save_setting(cfg, "generate", "temperature", 0.7)
    s = load_settings(cfg, environ={})
    assert (s.search.k, s.generate.temperature) == (7, 0.7)
    with pytest.raises(ConfigError, match=r"generate\.temperature"):
        save_setting(cfg, "generate", "temperature", 9.0)
    assert load_settings(cfg, environ={}).generate.temperature == 0.7
