{{/* vim: set filetype=mustache: */}}

{{/*
KafkaUser documents of files/users.yaml (the ACL policy's Strimzi export in its template form,
`egov-bus catalog strimzi-users --templates`) as a list of dicts.
*/}}
{{- define "egov-bus.policyUsers" -}}
{{- $docs := list -}}
{{- range $raw := regexSplit "(?m)^---\\s*$" (.Files.Get "files/users.yaml") -1 -}}
{{- $doc := fromYaml $raw -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "files/users.yaml: a document does not parse: %s" (get $doc "Error")) -}}
{{- end -}}
{{- if and $doc (eq (get $doc "kind" | default "") "KafkaUser") -}}
{{- $docs = append $docs $doc -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "users" $docs) -}}
{{- end -}}

{{/* The policy role (topics/acls.yaml) a chart component authenticates as: dict "component" "gateway". */}}
{{- define "egov-bus.componentRole" -}}
{{- get (dict "gateway" "gateway" "processor" "processors" "dashboard" "views-api") .component -}}
{{- end -}}

{{/*
SCRAM user name of a component: the name of its role's KafkaUser in files/users.yaml (gateway,
processors), which is also the name of the Secret Strimzi writes its password to.
dict "ctx" $ "component" "gateway"
*/}}
{{- define "egov-bus.policyUserName" -}}
{{- $role := include "egov-bus.componentRole" . -}}
{{- $name := "" -}}
{{- range $user := (include "egov-bus.policyUsers" .ctx | fromYaml).users -}}
{{- if eq (index $user.metadata.labels "egov.go.id/principal-role") $role -}}
{{- $name = $user.metadata.name -}}
{{- end -}}
{{- end -}}
{{- required (printf "files/users.yaml has no KafkaUser of role %q (the %s's); regenerate it with `make chart-sync`" $role .component) $name -}}
{{- end -}}

{{/*
One KafkaUser of files/users.yaml with its placeholders replaced, the chart's labels, namespace
and annotations added. dict "ctx" $ "user" <doc> "values" (dict "{region_code}" "32.01" ...) "quotas" <map or nil>
*/}}
{{- define "egov-bus.kafkaUserResource" -}}
{{- $ctx := .ctx -}}
{{- /* Through YAML text: a placeholder may sit anywhere in a name or a label value. */ -}}
{{- $text := toYaml (dict "name" .user.metadata.name "labels" .user.metadata.labels "spec" .user.spec) -}}
{{- range $placeholder, $value := .values -}}
{{- $text = replace $placeholder $value $text -}}
{{- end -}}
{{- $left := regexFind "\\{(app_id|region_code|province_code)\\}" $text -}}
{{- if $left -}}
{{- fail (printf "files/users.yaml: KafkaUser %s keeps the placeholder %s the chart has no value for here" .user.metadata.name $left) -}}
{{- end -}}
{{- $doc := fromYaml $text -}}
{{- $spec := $doc.spec -}}
{{- with .quotas -}}
{{- $_ := set $spec "quotas" . -}}
{{- end -}}
{{- $labels := merge (dict "strimzi.io/cluster" $ctx.Values.strimzi.clusterName "app.kubernetes.io/component" "kafka-user") (include "egov-bus.labels" $ctx | fromYaml) (omit $doc.labels "strimzi.io/cluster") }}
---
apiVersion: {{ .user.apiVersion }}
kind: KafkaUser
metadata:
  name: {{ $doc.name }}
  namespace: {{ $ctx.Release.Namespace | quote }}
  labels:
    {{- toYaml $labels | nindent 4 }}
  {{- with (include "egov-bus.annotations" $ctx) }}{{ . | nindent 2 }}{{ end }}
spec:
  {{- toYaml $spec | nindent 2 }}
{{- end -}}
