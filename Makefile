# One entry point for set-up, the demo and every check. CI runs `make test` (see .ci/run).
VENV    ?= .venv
PY      := $(VENV)/bin/python
DOCCHAT := $(VENV)/bin/docchat
DEMO_DATA ?= $(CURDIR)/.cache/demo-data

.PHONY: setup demo test check format lint types bench

# torch is installed first and pinned: a plain `torch` requirement on a fresh venv would pull a
# multi-GB CUDA build; 2.13.0 is the CPU build this machine provides.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,onnx]'
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

lint: setup
	$(VENV)/bin/ruff format --check docchat tests benchmarks
	$(VENV)/bin/ruff check docchat tests benchmarks

types: setup
	$(VENV)/bin/mypy docchat

check: lint types test

bench: setup
	$(PY) benchmarks/index_speed.py
