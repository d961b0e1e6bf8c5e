# Two commands for a fresh machine:
#   make run   - set up .venv (proxy only) and start PixelGate on 127.0.0.1:8080
#   make test  - set up .venv with everything (fallback extra, dev tools) and run all checks
# Both are idempotent: the install step re-runs only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
# CPU build from PyPI's index (a plain "torch" would pull a multi-GB CUDA build).
TORCH_SPEC ?= torch==2.13.0
HOST   ?= 127.0.0.1
PORT   ?= 8080
POLICY ?= policies/default.yaml

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) "$(TORCH_SPEC)"
	$(PIP) -e ".[fallback,dev]"
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/pixelgate run --policy $(POLICY) --listen-host $(HOST) --listen-port $(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check proxy local_fallback tests bench
	$(BIN)/ruff format --check proxy local_fallback tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)
	command -v haproxy >/dev/null || (apt-get update && apt-get install -y --no-install-recommends haproxy)
	test -x /usr/sbin/slapd || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils)
	command -v iptables >/dev/null && command -v ip >/dev/null || (apt-get update && apt-get install -y --no-install-recommends iptables iproute2)
	$(BIN)/pytest

test: lint typecheck pytest

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PIP) -e ".[fallback,dev,bench]"
	@touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
