# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use.
VENV ?= .venv
CORES ?= 2

$(VENV)/installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --progress-bar off -e '.[workflow,test]'
	touch $@

.PHONY: demo test
demo: $(VENV)/installed
	$(VENV)/bin/snakemake --cores $(CORES) --configfile demo.yaml
	@echo; cat demo/results/tables/rankings.csv; echo; echo "Report: demo/results/report.html"

test: $(VENV)/installed
	$(VENV)/bin/pytest
