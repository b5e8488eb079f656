# The two commands of the README: `make demo` (setup + `pulumi up` of the root
# stack on the local libvirt) and `make test` (setup + every test tier + lint).
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
PKV_CACHE ?= $(HOME)/.cache/pulumi-kubevirt
STATE ?= $(PKV_CACHE)/state
STACK ?= dev
export PATH := $(PKV_CACHE)/bin:$(VENV)/bin:$(PATH)
export PULUMI_BACKEND_URL ?= file://$(STATE)
export PULUMI_CONFIG_PASSPHRASE ?=
export PULUMI_SKIP_UPDATE_CHECK := true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION := true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK := 1

.PHONY: setup demo destroy test lint unit schema sdk sweep

# `make setup` (and demo/test, which run it) is meant for CI and throwaway
# machines: it lets scripts/start-libvirtd.sh change the host's libvirt
# configuration (QEMU runs as root; see the README). `make setup
# PKV_CONFIGURE_HOST=0` only reports what it would change.
PKV_CONFIGURE_HOST ?= 1
setup:
	@PKV_CONFIGURE_HOST=$(PKV_CONFIGURE_HOST) scripts/setup.sh

demo: setup
	@mkdir -p $(STATE)
	@pulumi stack select $(STACK) 2>/dev/null || pulumi stack init $(STACK)
	pulumi up --yes --stack $(STACK)
	@echo; echo "VM state and addresses:"; pulumi stack output --stack $(STACK)

destroy:
	pulumi destroy --yes --stack $(STACK)

# lint-imports checks the layer contracts of .importlinter against the package
# as installed (the editable install of `make setup`).
lint:
	ruff check provider components tests examples bench __main__.py
	scripts/mypy.sh
	lint-imports --no-cache

schema:
	python -m pulumi_kubevirt.provider.schema > schema.json

# The typed Python API, generated: the plugin's SDK (pulumi_kubevirt.sdk) from
# schema.json (see scripts/gen-sdk.sh for why not only `pulumi package gen-sdk`),
# and the dynamic resource classes' typed signatures from the models.
sdk: schema
	scripts/gen-sdk.sh sdk
	python scripts/gen_resource_types.py > provider/resources/inputs.py.new  # imports the package: not in place
	mv provider/resources/inputs.py.new provider/resources/inputs.py

unit:
	pytest -m unit -q

sweep:
	python -m tests.harness.sweeper

# One pytest run per tier, so the log shows each tier's own passed count; a tier
# that collects no test exits 5 and fails the target.
TIERS := unit libvirt kube e2e
test: setup
	$(MAKE) --no-print-directory lint
	@for tier in $(TIERS); do \
		echo "==> tier $$tier"; \
		pytest -q -p no:cacheprovider -m $$tier --durations=5 || exit $$?; \
	done
