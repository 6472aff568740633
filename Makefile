# Two commands do all set-up on a fresh machine (see README):
#   make book   -> creates .venv from requirements.txt and builds the book strictly
#   make test   -> also installs the test tools, Chromium, TeX Live and Lighthouse, then runs every test
# and, for a maintainer:
#   make pdf    -> the PDF edition of the whole book, _build/html/$(PDF) (installs TeX Live if missing)
#   make lighthouse -> page-speed audit of the built site (scripts/lighthouse.py, median of 3 runs)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
BUILD   = $(BIN)/jupyter-book build . -W -n --keep-going

PDF     = ketamine-trd-book.pdf

.PHONY: book test clean student instructor notebooks pdf lighthouse benchmark

book: $(VENV)/.runtime
	$(BUILD)

test: $(VENV)/.test node_modules/.package-lock.json
	$(BIN)/python -m pytest

# The PDF edition: Sphinx's LaTeX writer and pdflatex (latexmk), strict like the HTML build. The
# PDF is copied into the HTML site, whose download menu links it (ketamine_course/site_assets.py).
pdf: $(VENV)/.runtime
	bash scripts/install_system_packages.sh --tex
	$(BIN)/jupyter-book build . --builder pdflatex -W -n --keep-going
	mkdir -p _build/html
	cp _build/latex/$(PDF) _build/html/$(PDF)

lighthouse: $(VENV)/.runtime node_modules/.package-lock.json
	bash scripts/install_system_packages.sh
	$(BIN)/python scripts/lighthouse.py --chapters --json _build/lighthouse.json

clean:
	rm -rf _build

# Build and page speed, measured (not a test): prints a table, writes benchmarks/latest.json and
# the README's table. See README, "Speed: make benchmark".
benchmark: $(VENV)/.runtime node_modules/.package-lock.json
	bash scripts/install_system_packages.sh
	$(BIN)/python scripts/benchmark.py --readme

# Reader notebooks for a local JupyterLab, as Binder's postBuild makes them: notebooks/*.ipynb
# (and notebooks/student/) with numbers, citations and labels resolved. Then: .venv/bin/jupyter lab notebooks/
notebooks: $(VENV)/.runtime
	$(BIN)/python -m ketamine_course.reader --out notebooks

# Editions (ketamine_course/editions.py; README "Coursework and editions"). `make book` builds the public edition.
# Student edition (worked solutions removed): _build/student-source/_build/html
student: $(VENV)/.runtime
	$(BIN)/python -m ketamine_course.editions student _build/student-source
	cd _build/student-source && ../../$(BIN)/jupyter-book build . -W -n --keep-going

# Instructor edition (everything, with the model answers from instructor/ or $$INSTRUCTOR_DIR):
# _build/instructor-source/_build/html. Never publish it.
instructor: $(VENV)/.runtime
	$(BIN)/python -m ketamine_course.editions instructor _build/instructor-source
	cd _build/instructor-source && ../../$(BIN)/jupyter-book build . -W -n --keep-going

$(VENV)/.runtime: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt scripts/install_system_packages.sh
	bash scripts/install_system_packages.sh --tex
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

# Lighthouse (npm, pinned in package-lock.json) for the page-speed test and audit.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
