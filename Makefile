# The two commands: `make demo` (the local stack, end to end) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test up bench image clean

$(STAMP): requirements.txt pyproject.toml
	@command -v java >/dev/null 2>&1 || { echo "error: Java 8+ must be on PATH (Multi Model Server's frontend is Java): install a JRE, e.g. 'apt-get install -y openjdk-17-jre-headless'" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: Python 3.11 is required (mxnet 1.9.1 and numpy 1.23.5); set PYTHON=/path/to/python3.11" >&2; exit 1; }
	@echo "==> installing pinned requirements into $(VENV)/ (first run takes a minute or two)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

demo: $(STAMP)
	$(PY) -m local_stack.demo

up: $(STAMP)
	$(PY) -m local_stack up

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

# The container image, with podman (no registry needed: the base is made by debootstrap).
image:
	$(PYTHON) -m local_stack.image build

bench: $(STAMP)
	$(PY) bench/validate.py

clean:
	rm -rf $(VENV) .cache .local
