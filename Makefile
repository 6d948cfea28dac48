# The two commands: `make demo` (the local stack, end to end) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test up tf-env bench docs package image push screenshots clean

# Debian packages the stack and the tests need: Java for Multi Model Server's frontend, GNU tar
# for the extraction property tests, Chromium and its matching chromedriver for the console's
# browser tests. Installed when missing and apt-get may run (root); otherwise the error says what
# to install (without Chromium the browser tests are skipped, with that reason).
APT_PACKAGES := openjdk-17-jre-headless tar
BROWSER_PACKAGES := chromium chromium-driver

$(STAMP): requirements.txt pyproject.toml
	@missing=""; \
	command -v java >/dev/null 2>&1 || missing="$(APT_PACKAGES)"; \
	{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || missing="$$missing $(BROWSER_PACKAGES)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> installing Debian packages:$$missing"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
	      || command -v java >/dev/null 2>&1 || exit 1; \
	  elif ! command -v java >/dev/null 2>&1; then \
	    echo "error: Java 8+ must be on PATH (Multi Model Server's frontend is Java): install a JRE, e.g. 'sudo apt-get install -y openjdk-17-jre-headless'" >&2; exit 1; \
	  else \
	    echo "note: no chromium/chromedriver: the console's browser tests will be skipped ('sudo apt-get install -y chromium chromium-driver')"; \
	  fi; \
	fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: Python 3.11 is required (mxnet 1.9.1 and numpy 1.23.5); set PYTHON=/path/to/python3.11" >&2; exit 1; }
	@echo "==> installing pinned requirements into $(VENV)/ (first run takes a minute or two)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# The TensorFlow environment: its own venv in $(MME_REGISTRY_CACHE)/tf/venv (default .cache/tf/venv),
# since TensorFlow needs numpy>=1.26 and mxnet numpy<1.24. Built from requirements-tf.txt when missing or
# when the pins change (about 30 s), a no-op otherwise (local_stack/environments/tf_env.py).
tf-env:
	@$(PYTHON) -m local_stack.environments.tf_env --python $(PYTHON) >/dev/null

demo: $(STAMP) tf-env
	$(PY) -m local_stack.demo

up: $(STAMP) tf-env
	$(PY) -m local_stack up

test: $(STAMP) tf-env
	$(PY) -m pytest -n 2 --dist loadgroup

# The console's screenshots (docs/console/*.png, shown on the docs' console page), from the demo's data in headless Chromium.
screenshots: $(STAMP) tf-env
	$(PY) -m local_stack.demo.screenshots --out docs/console

# The Lambda package and its SAM template, in build/lambda/. Needs no .venv: the build runs
# under Python 3.13 from its own small venv in .cache/lambda/ (see deploy/package.py).
package:
	$(PYTHON) deploy/package.py --out build/lambda

# The container image, with podman (no registry needed: the base is made by debootstrap), for
# linux/amd64 whatever the host (SageMaker's ml.m5/ml.c5 instances are x86-64).
image:
	$(PYTHON) -m local_stack.environments.image build

# The image, tagged with its content tag and TAG (default latest), pushed to the ECR repository of
# a resources stack: `make push STACK=mme-registry-prod [TAG=v1]` (the caller's AWS credentials and region).
push: $(STAMP)
	@test -n "$(STACK)" || { echo "error: name the resources stack: make push STACK=mme-registry-prod [TAG=...]" >&2; exit 2; }
	$(PYTHON) -m local_stack.environments.image build
	$(PY) -m local_stack.environments.image push --stack $(STACK) $(if $(TAG),--tag $(TAG))

# Every benchmark, one after another, then one table of the issue's goals (measured ratio, its
# reference from the same run, goal, met or not) with the machine and its load average, also written
# as the documentation's page docs/benchmarks/latest.md (commit it with the run); 9 minutes
# on 2 shared cores, each bench's time printed as it ends. `make bench QUICK=1`: fewer requests and
# rounds (about half that). One bench alone: .venv/bin/python bench/<name>.py [--json PATH].
bench: $(STAMP) tf-env
	$(PY) bench/summary.py $(if $(QUICK),--quick) --markdown docs/benchmarks/latest.md

# The documentation site (mkdocs.yml, docs/), in build/site/: open build/site/index.html. Strict: a
# broken link, a page missing from the nav or a bad anchor fails the build. The CLI, REST API and
# change events references are written from the code as it builds (docs/gen/hooks.py).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV) .cache .local
