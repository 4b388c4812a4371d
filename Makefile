# The two commands of the README. Both create .venv on first use.
#   make demo   qualify the tool in the sample's setting, audit the sample submission with the record attached,
#               sign the dossier and verify it
#   make test   run the fast test suite
#   make samples  quick-audit every sample submission (SAMPLES=a,b for some, FULL=1 for full audits)
#                 and regenerate the README tables from the evidence
#   make lock     regenerate requirements.lock (UPGRADE=1: every package to its newest allowed release)
.PHONY: demo samples test test-all setup lock clean

DEMO_MANIFEST ?= sample_submissions/mri_unet/manifest.yaml
OUT ?= out/demo
DEMO_KEYS ?= out/demo-keys
# The demo's test key is protected by this password (a test CA only, made on first use).
DEMO_PASSWORD ?= auditkit-demo
AUDITKIT = .venv/bin/auditkit

setup:
	@bash scripts/bootstrap.sh

lock:
	@bash scripts/lock.sh $(if $(UPGRADE),--upgrade)

demo: setup
	@test -f $(DEMO_KEYS)/signer.p12 || AUDITKIT_KEY_PASSWORD=$(DEMO_PASSWORD) $(AUDITKIT) keygen --out $(DEMO_KEYS) --name "Demo Reviewer"
	@AUDITKIT_KEY_PASSWORD=$(DEMO_PASSWORD) $(AUDITKIT) selftest $(DEMO_MANIFEST) --out $(OUT)-qualification.json --quick \
	  --cert $(DEMO_KEYS)/signer.p12 --name "Demo Reviewer"; rc=$$?; if [ $$rc -gt 1 ]; then exit $$rc; fi
	@$(AUDITKIT) run $(DEMO_MANIFEST) --out $(OUT) --quick --qualification $(OUT)-qualification.json; rc=$$?; \
	  if [ $$rc -gt 1 ]; then exit $$rc; fi; \
	  echo "audit finished (exit $$rc: 0 = no criterion failed, 1 = some failed or a check was inconclusive; see $(OUT)/dossier.pdf)"
	@AUDITKIT_KEY_PASSWORD=$(DEMO_PASSWORD) $(AUDITKIT) sign $(OUT) --cert $(DEMO_KEYS)/signer.p12 \
	  --name "Demo Reviewer" --meaning "Review: I have reviewed this audit dossier (demonstration signature)"
	@$(AUDITKIT) verify $(OUT) --trust $(DEMO_KEYS)/ca.pem > $(OUT).verify.txt && echo "verified: $(OUT) (table in $(OUT).verify.txt)"

samples: setup
	.venv/bin/python scripts/audit_samples.py $(if $(SAMPLES),--only $(SAMPLES)) $(if $(FULL),--full)

test:
	@bash scripts/bootstrap.sh --test-tools
	.venv/bin/python -m pytest -m "not slow" -q

test-all:
	@bash scripts/bootstrap.sh --test-tools
	.venv/bin/python -m pytest -q

clean:
	rm -rf .venv out .pytest_cache
