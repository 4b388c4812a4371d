# The two commands of the README. Both create .venv on first use.
#   make demo   audit the shipped sample submission and write a dossier
#   make test   run the fast test suite
.PHONY: demo test test-all setup clean

DEMO_MANIFEST ?= sample_submissions/mri_unet/manifest.yaml
OUT ?= out/demo

setup:
	@bash scripts/bootstrap.sh

demo: setup
	.venv/bin/auditkit validate $(DEMO_MANIFEST)
	@echo "The audit pipeline is not built yet: 'make demo' validates the sample manifest only."

test:
	@bash scripts/bootstrap.sh --test-tools
	.venv/bin/python -m pytest -m "not slow" -q

test-all:
	@bash scripts/bootstrap.sh --test-tools
	.venv/bin/python -m pytest -q

clean:
	rm -rf .venv out .pytest_cache
