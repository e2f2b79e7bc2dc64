"""`docchat doctor`: stable JSON keys, exit 0 only when every check passes, and a failing row
(a missing model, a bad config value, a damaged collection) that says how to fix it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from docchat.cli import main
from docchat.generate import registry
from docchat.service import Docchat

IDS = [
    "python",
    "packages",
    "cpu",
    "config",
    "llama_cpp",
    "torch",
    "cuda",
    "sqlite",
    "faiss",
    "data_dir",
    "collection:research",
    "embedder",
    "generator",
]


@pytest.fixture
def fakes_env(service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """One indexed collection; the doctor sees the fake embedder and the fake generator,
    the latter in a model process like llama.cpp."""
    list(service.index("research", [str(docs)]))
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    monkeypatch.setenv("DOCCHAT_GENERATE_BACKEND", "fake-process")
    registry.clear_cache()
    yield
    registry.clear_cache()


def doctor(*args: str) -> Result:
    return CliRunner().invoke(main, ["doctor", *args], catch_exceptions=False)


def checks_of(result: Result) -> dict[str, dict[str, Any]]:
    out = json.loads(result.stdout)
    assert set(out) == {"ok", "checks"}
    return {c["id"]: c for c in out["checks"]}


def test_all_checks_pass_with_working_models(fakes_env: Any) -> None:
    result = doctor("--json")
    checks = checks_of(result)
    failed = {k: c["summary"] for k, c in checks.items() if c["status"] == "fail"}
    assert result.exit_code == 0 and not failed, failed
    assert json.loads(result.stdout)["ok"] is True
    assert list(checks) == IDS
    for check in checks.values():
        assert set(check) == {"id", "title", "status", "summary", "fix", "data"}
        assert check["status"] in ("pass", "warn", "skip")
    assert set(checks["cpu"]["data"]) == {"model", "cpus", "features"}
    assert set(checks["packages"]["data"]["versions"]) >= {"torch", "llama-cpp-python"}
    assert set(checks["sqlite"]["data"]) == {"version", "fts5"}
    assert set(checks["data_dir"]["data"]) == {"path", "exists", "free_bytes"}
    assert checks["collection:research"]["data"]["ok"] is True
    embedder = checks["embedder"]["data"]
    assert set(embedder) == {"backend", "model", "precision", "dimension", "load_s", "chunks_per_s"}
    assert embedder["dimension"] == 64 and embedder["chunks_per_s"] > 0
    generator = checks["generator"]["data"]
    assert set(generator) == {
        "backend",
        "model",
        "load_s",
        "process",
        "name",
        "tokens",
        "tokens_per_s",
        "ttft_ms",
    }
    assert generator["process"] == "child" and generator["tokens"] > 0
    if checks["llama_cpp"]["status"] == "pass":
        assert set(checks["llama_cpp"]["data"]) == {"version", "uses", "gpu_offload", "system_info"}
        assert set(checks["llama_cpp"]["data"]["uses"]) == {
            "AVX2",
            "AVX-512",
            "VNNI",
            "BF16",
            "AMX",
        }


def test_a_missing_model_fails_its_row_and_the_exit_code(
    fakes_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCCHAT_GENERATE_BACKEND", "llama-cpp")
    monkeypatch.setenv("DOCCHAT_GENERATE_MODEL", str(tmp_path / "missing.gguf"))
    result = doctor("--json")
    assert result.exit_code == 1
    checks = checks_of(result)
    assert list(checks) == IDS  # one failure does not stop the other checks
    row = checks["generator"]
    assert row["status"] == "fail" and "model file not found" in row["summary"]
    assert "generate.model" in row["fix"]
    assert checks["embedder"]["status"] == "pass"
    text = doctor()
    assert text.exit_code == 1
    assert "FAIL  Chat model" in text.stdout and "fix: set generate.model" in text.stdout
    assert "1 check(s) failed" in text.stdout


def test_a_bad_config_value_and_a_damaged_collection(
    fakes_env: Any, service: Docchat, tmp_path: Path
) -> None:
    config = Path.home() / "docchat.toml"  # DOCCHAT_CONFIG points here in tests
    config.write_text('[search]\nk = "many"\n', encoding="utf-8")
    coll = service.open_collection("research")
    coll.vectors_path.unlink()
    checks = checks_of(result := doctor("--json"))
    assert result.exit_code == 1
    assert checks["config"]["status"] == "fail" and "search.k" in checks["config"]["summary"]
    assert str(config) in checks["config"]["fix"]
    damaged = checks["collection:research"]
    assert damaged["status"] == "fail" and "vector file missing" in damaged["summary"]
    assert damaged["fix"] == "docchat collections rebuild research"


def test_a_llama_cpp_build_for_another_cpu_fails_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    from docchat.config import Settings
    from docchat.doctor import cpu
    from docchat.errors import ModelCrashed
    from docchat.generate import child_process

    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 |"
    probe = {"llama_cpp_version": "0.3.36", "llama_cpp_system_info": info}
    monkeypatch.setattr(child_process, "probe_system_info", lambda: probe)
    assert cpu.llama_features(info) == {
        "AVX2": True,
        "AVX-512": True,
        "VNNI": False,
        "BF16": False,
        "AMX": True,
    }
    zen4 = {"AVX2": True, "AVX-512": True, "VNNI": True, "BF16": True, "AMX": False}
    row = cpu.llama_cpp_check(Settings(), zen4)
    assert row.status == "fail" and "this CPU lacks AMX" in row.summary
    assert "rebuild llama-cpp-python on this machine" in row.fix
    row = cpu.llama_cpp_check(Settings(), {**zen4, "AMX": True})
    assert row.status == "pass" and "(the CPU also has VNNI BF16)" in row.summary

    def crashed() -> dict[str, str]:
        raise ModelCrashed("the model process crashed (SIGILL) while probing the system")

    monkeypatch.setattr(child_process, "probe_system_info", crashed)
    row = cpu.llama_cpp_check(Settings(), zen4)
    assert row.status == "fail" and "SIGILL" in row.summary and "rebuild" in row.fix
