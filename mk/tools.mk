# Deploy/observe tools and checks (issue 6). Included by the Makefile; uses its BIN and STAMP.
# helm and kubeconform are built with `go install` (Go module proxy), the Kubernetes JSON schemas
# come from the PyPI package kubernetes-validate, promtool from Debian's `prometheus` package;
# all pinned in devtools/tools/installers.py and cached in $${EGOV_CACHE_DIR:-~/.cache/egov-bus}.

.PHONY: tools test-deploy helm-lint helm-template rules-test chart-sync

tools: $(STAMP) ## Install the pinned helm, kubeconform, promtool and Kubernetes schemas (cached)
	$(BIN)/python -m devtools.tools install all

test-deploy: tools ## Chart, alert-rule and dashboard checks (no cluster needed)
	$(BIN)/pytest tests/helm tests/deploy -q

helm-lint: tools ## helm lint --strict helm/egov-bus
	"$$($(BIN)/python -m devtools.tools path helm | cut -f2)" lint --strict helm/egov-bus

helm-template: tools ## Render helm/egov-bus with its defaults to stdout
	@"$$($(BIN)/python -m devtools.tools path helm | cut -f2)" template egov helm/egov-bus

rules-test: tools ## promtool check + unit tests of deploy/prometheus/rules.yml
	"$$($(BIN)/python -m devtools.tools path promtool | cut -f2)" check rules deploy/prometheus/rules.yml
	cd deploy/prometheus && "$$($(CURDIR)/$(BIN)/python -m devtools.tools path promtool | cut -f2)" test rules rules.test.yml

chart-sync: $(STAMP) ## Copy the alert rules into the chart, regenerate its topics and users files from the catalogue and ACLs
	cp deploy/prometheus/rules.yml helm/egov-bus/files/rules.yml
	EGOV_UPDATE_CHART_TOPICS=1 $(BIN)/pytest tests/helm/test_topics_file.py -q
	$(BIN)/egov-bus catalog strimzi-users --templates --output helm/egov-bus/files/users.yaml
	$(BIN)/pytest tests/helm/test_users_file.py -q
