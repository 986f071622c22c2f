# Set-up and the two main jobs. `make demo` and `make test` create the
# environment first when it is missing (.venv/ at the repository root).
PYTHON ?= python3.11
VENV := .venv
# pip >= 24.1 refuses a dependency of espnet 202511 (ci_sdr's direct-URL extra).
PIP_VERSION := pip<24.1

.PHONY: install demo test clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet '$(PIP_VERSION)'
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	$(VENV)/bin/python -c "import espnet2.tasks.abs_task, pyworld, kaldiio, espeakng_loader, espnet2_cyclegan_vc"
	touch $@

demo: install
	cd egs2/mini_vc/vc1 && ./run.sh

test: install
	$(VENV)/bin/python -m pytest -q test

clean-venv:
	rm -rf $(VENV)
