# The two commands of the quick start, `make demo` and `make test`, set up what they need first:
# uv, pinned with hashes in requirements-uv.txt, installs into .venv exactly what uv.lock pins.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := .venv/bin

# Use $(PYTHON) as it is: never download an interpreter, never write outside the checkout's .venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: demo test lint typecheck run bench lock check-lock sync clean
.PHONY: i18n-extract i18n-update i18n-compile

$(UV): requirements-uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r requirements-uv.txt
	touch $(UV)

# One line, not a resolver's report, when pyproject.toml changed and uv.lock was not refreshed.
check-lock: $(UV)
	@$(UV) lock --check --quiet 2>/dev/null || { \
		echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock" >&2; \
		exit 1; }

# Exactly the lock: packages it does not pin are removed, and nothing is resolved anew.
sync: check-lock
	@$(UV) sync --frozen --python $(PYTHON) --quiet

demo: sync
	$(BIN)/feedwatch demo

test: lint typecheck
	$(BIN)/pytest -n auto --dist loadfile

lint: sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: sync
	$(BIN)/mypy

run: sync
	$(BIN)/feedwatch run

bench: sync
	$(BIN)/python benchmarks/parse.py
	$(BIN)/python benchmarks/deliver.py
	$(BIN)/python benchmarks/poll.py

# Re-resolve every dependency to the newest release pyproject.toml allows (README: "Updating a
# dependency"); `make lock PACKAGE=httpx` moves just one.
lock: $(UV)
	$(UV) lock --python $(PYTHON) $(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade)

# Translations (README: "Languages"): the code says English msgids, bot/render/locales keeps the
# template and a catalog per language. Extract the msgids into the template, merge the template
# into the catalogs (new ones come untranslated, changed ones fuzzy: translate them, remove the
# fuzzy flag), compile the .mo files the bot reads; commit all three. tests/render/test_i18n.py
# fails while any of them lags behind the code. I18N_KEYWORDS: the calls whose strings are msgids.
I18N_LANGUAGES := ru uk
LOCALES := bot/render/locales
POT := $(LOCALES)/feedwatch.pot
I18N_KEYWORDS := tr:2 ntr:2,3 say said nsaid:1,2 N_ RefusedError OpmlError

i18n-extract: sync
	$(BIN)/pybabel -q extract --mapping-file=babel.cfg --no-default-keywords \
		$(addprefix --keyword=,$(I18N_KEYWORDS)) --add-comments=translators: \
		--add-location=file --sort-output --width=100 --project=feedwatch \
		--copyright-holder="the feedwatch authors" --output-file=$(POT) bot

i18n-update: sync
	for lang in $(I18N_LANGUAGES); do \
		$(BIN)/pybabel -q update --input-file=$(POT) --output-dir=$(LOCALES) --domain=feedwatch \
			--init-missing --ignore-obsolete --width=100 --locale=$$lang || exit 1; \
	done

i18n-compile: sync
	$(BIN)/pybabel -q compile --directory=$(LOCALES) --domain=feedwatch --statistics

clean:
	rm -rf .venv $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
