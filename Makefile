# Two commands do all set-up on a fresh machine (see README):
#   make book   -> creates .venv from requirements.txt and builds the book strictly
#   make test   -> also installs the test tools and Chromium, then runs every test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
BUILD   = $(BIN)/jupyter-book build . -W -n --keep-going

.PHONY: book test clean student notebooks

book: $(VENV)/.runtime
	$(BUILD)

test: $(VENV)/.test
	$(BIN)/python -m pytest

clean:
	rm -rf _build

# Reader notebooks for a local JupyterLab, as Binder's postBuild makes them: notebooks/*.ipynb
# (and notebooks/student/) with numbers, citations and labels resolved. Then: .venv/bin/jupyter lab notebooks/
notebooks: $(VENV)/.runtime
	$(BIN)/python -m ketamine_course.reader --out notebooks

# Student edition (solutions removed) for coursework: _build/student-source/_build/html
student: $(VENV)/.runtime
	$(BIN)/python -m ketamine_course.editions _build/student-source
	cd _build/student-source && ../../$(BIN)/jupyter-book build . -W -n --keep-going

$(VENV)/.runtime: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt scripts/install_system_packages.sh
	bash scripts/install_system_packages.sh
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@
