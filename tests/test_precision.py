"""embed.precision: chosen per CPU, recorded per collection, a mismatched family refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.config import Settings, load_settings
from docchat.embed.precision import auto_precision, family, resolve_precision
from docchat.errors import ConfigError, ModelMismatch
from docchat.service import Docchat
from docchat.types import IndexSummary

SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16"})
COOPER_LAKE = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"})
SKYLAKE = frozenset({"avx2", "avx512f"})
OLD = frozenset({"sse4_2"})


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Pretend this machine has (or lacks) openvino and an NVIDIA GPU."""
    import docchat.embed.precision as precision

    def have(openvino: bool = True, gpu: bool = False) -> None:
        monkeypatch.setattr(precision, "openvino_installed", lambda: openvino)
        monkeypatch.setattr(precision, "nvidia_gpu", lambda: gpu)

    have()
    return have


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(SAPPHIRE_RAPIDS, "ov-bf16"), (COOPER_LAKE, "ov-bf16"), (SKYLAKE, "fp32"), (OLD, "fp32")],
)
def test_auto_picks_openvino_bf16_only_where_the_cpu_has_bfloat16_arithmetic(
    flags: frozenset[str], expected: str, machine: Callable[..., None]
) -> None:
    assert resolve_precision("auto", flags=flags) == expected


def test_without_openvino_or_with_a_gpu_auto_picks_torch_bf16(
    machine: Callable[..., None],
) -> None:
    machine(openvino=False)
    assert resolve_precision("auto", flags=SAPPHIRE_RAPIDS) == "bf16"
    assert resolve_precision("auto", flags=SKYLAKE) == "fp32"
    machine(openvino=True, gpu=True)  # device auto puts torch on the GPU
    assert resolve_precision("auto", flags=SAPPHIRE_RAPIDS) == "bf16"
    # ... but device = "cpu" means the CPU, GPU or not.
    assert resolve_precision("auto", flags=SAPPHIRE_RAPIDS, device="cpu") == "ov-bf16"


def test_auto_never_picks_int8_and_off_the_cpu_stays_fp32(machine: Callable[..., None]) -> None:
    everything = SAPPHIRE_RAPIDS | {"amx_int8", "avx_vnni"}
    assert auto_precision(everything) == "ov-bf16"
    assert auto_precision(everything, openvino=False) == "bf16"
    assert auto_precision(everything, device="cuda") == "fp32"


def test_auto_reads_the_flags_of_this_machine(
    monkeypatch: pytest.MonkeyPatch, machine: Callable[..., None]
) -> None:
    import docchat.embed.precision as precision

    monkeypatch.setattr(precision, "cpu_flags", lambda: SKYLAKE)
    assert resolve_precision("auto") == "fp32"
    monkeypatch.setattr(precision, "cpu_flags", lambda: SAPPHIRE_RAPIDS)
    assert resolve_precision("auto") == "ov-bf16"


def test_openvino_is_found_without_importing_it() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from docchat.embed.precision import openvino_installed as f; "
        "print(f(), 'openvino' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]  # openvino is a core dependency


def test_an_explicit_setting_wins_and_auto_keeps_the_recorded_family(
    machine: Callable[..., None],
) -> None:
    assert resolve_precision("fp32", flags=SAPPHIRE_RAPIDS) == "fp32"
    assert resolve_precision("int8", "bf16", flags=SKYLAKE) == "int8"  # the store refuses it
    # An int8 collection stays int8 under auto; fp32 and bf16 are one family.
    assert resolve_precision("auto", "int8", flags=SAPPHIRE_RAPIDS) == "int8"
    assert resolve_precision("auto", "fp32", flags=SAPPHIRE_RAPIDS) == "ov-bf16"
    assert resolve_precision("auto", "bf16", flags=SKYLAKE) == "fp32"
    assert family("fp32") == family("bf16") != family("int8")
    # OpenVINO int8 (static) is a family of its own, kept by auto like ONNX int8.
    assert family("ov-int8") not in (family("fp32"), family("int8"))
    assert family("ov-bf16") == family("fp32")  # OpenVINO's fp32 model: fp32's vectors
    assert resolve_precision("ov-int8", flags=OLD) == "ov-int8"
    assert resolve_precision("auto", "ov-int8", flags=SAPPHIRE_RAPIDS) == "ov-int8"


def test_the_setting_is_typed_and_comes_from_the_environment() -> None:
    assert Settings().embed.precision == "auto"
    env = {"DOCCHAT_EMBED_PRECISION": "bf16"}
    assert load_settings(environ=env).embed.precision == "bf16"
    with pytest.raises(ConfigError, match=r"embed\.precision"):
        load_settings(environ={"DOCCHAT_EMBED_PRECISION": "fp8"})


def _index(settings: Settings, docs: Path) -> IndexSummary:
    service = Docchat(settings)
    try:
        *_, summary = service.index("t", [docs])
    finally:
        service.close()
    assert isinstance(summary, IndexSummary)
    return summary


def _with(fake_settings: Settings, precision: str) -> Settings:
    return load_settings(
        overrides={
            "embed": {"backend": "fake", "model": "fake-embedder", "precision": precision},
            "index": fake_settings.index.model_dump(),
        }
    )


def test_a_collection_records_its_precision_and_refuses_another_family(
    fake_settings: Settings, docs: Path
) -> None:
    _index(fake_settings, docs)
    service = Docchat(fake_settings)
    assert service.open_collection("t").meta("embed_precision") == "fp32"  # the fake's
    service.close()
    # bf16 vectors mix with fp32 ones: allowed.
    (docs / "bread.txt").write_text("Rye bread, changed.\n", encoding="utf-8")
    assert _index(_with(fake_settings, "bf16"), docs).indexed == 1
    # int8 ones do not: refused before anything loads, with the way out.
    (docs / "bread.txt").write_text("Spelt bread, changed again.\n", encoding="utf-8")
    with pytest.raises(ModelMismatch, match=r"fp32 vectors.*reembed t --model fake-embedder"):
        _index(_with(fake_settings, "int8"), docs)
    with pytest.raises(ModelMismatch, match=r"PRECISION=ov-int8 docchat collections reembed"):
        _index(_with(fake_settings, "ov-int8"), docs)


def test_an_openvino_int8_collection_refuses_float_vectors(
    fake_settings: Settings, docs: Path
) -> None:
    _index(fake_settings, docs)
    service = Docchat(fake_settings)
    coll = service.open_collection("t")  # as if embedded by OpenVINO (the fake says fp32)
    coll.db.execute("UPDATE meta SET value='ov-int8' WHERE key='embed_precision'")
    coll.db.commit()
    service.close()
    (docs / "bread.txt").write_text("Rye bread, changed.\n", encoding="utf-8")
    with pytest.raises(ModelMismatch, match=r"ov-int8 vectors, which bf16 vectors do not match"):
        _index(_with(fake_settings, "bf16"), docs)
    assert _index(_with(fake_settings, "auto"), docs).indexed == 1  # auto keeps ov-int8


def test_a_collection_from_before_precisions_were_recorded_gets_one(
    fake_settings: Settings, docs: Path
) -> None:
    _index(fake_settings, docs)
    service = Docchat(fake_settings)
    coll = service.open_collection("t")
    coll.db.execute("DELETE FROM meta WHERE key='embed_precision'")
    coll.db.commit()
    service.close()
    (docs / "bread.txt").write_text("Rye bread, changed.\n", encoding="utf-8")
    _index(fake_settings, docs)
    service = Docchat(fake_settings)
    assert service.open_collection("t").meta("embed_precision") == "fp32"
    service.close()
