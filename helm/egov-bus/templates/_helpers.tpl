{{/* vim: set filetype=mustache: */}}

{{- define "egov-bus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "egov-bus.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's resources: <fullname>-<component>. */}}
{{- define "egov-bus.componentName" -}}
{{- printf "%s-%s" (include "egov-bus.fullname" .ctx | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "egov-bus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every resource. Call with the root context. */}}
{{- define "egov-bus.labels" -}}
helm.sh/chart: {{ include "egov-bus.chart" . }}
app.kubernetes.io/name: {{ include "egov-bus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: egov-bus
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component: dict "ctx" $ "component" "gateway". */}}
{{- define "egov-bus.componentLabels" -}}
{{ include "egov-bus.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of one component (immutable: never add version labels here). */}}
{{- define "egov-bus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "egov-bus.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* "annotations:" with commonAnnotations, or nothing. */}}
{{- define "egov-bus.annotations" -}}
{{- with .Values.commonAnnotations -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag or @digest. dict "image" .Values.image "default" .Chart.AppVersion */}}
{{- define "egov-bus.imageRef" -}}
{{- $repo := .image.repository -}}
{{- if .image.registry -}}
{{- $repo = printf "%s/%s" .image.registry .image.repository -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .default .image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "egov-bus.image" -}}
{{- include "egov-bus.imageRef" (dict "image" .Values.image "default" .Chart.AppVersion) -}}
{{- end -}}

{{- define "egov-bus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "egov-bus.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "egov-bus.configMapName" -}}
{{- printf "%s-config" (include "egov-bus.fullname" .) -}}
{{- end -}}

{{- define "egov-bus.registryServiceName" -}}
{{- include "egov-bus.componentName" (dict "ctx" . "component" "registry") -}}
{{- end -}}

{{/* The registry URL the components use: the bundled Apicurio unless an explicit URL is given. */}}
{{- define "egov-bus.registryUrl" -}}
{{- if and .Values.registry.apicurio.enabled (or (not .Values.registry.url) (eq .Values.registry.url "http://apicurio-registry:8080/apis/ccompat/v7")) -}}
{{- printf "http://%s:%d/apis/ccompat/v7" (include "egov-bus.registryServiceName" .) (int .Values.registry.apicurio.containerPort) -}}
{{- else -}}
{{- required "registry.url is required unless registry.apicurio.enabled" .Values.registry.url -}}
{{- end -}}
{{- end -}}

{{- define "egov-bus.saslEnabled" -}}
{{- if hasPrefix "SASL" .Values.kafka.securityProtocol }}true{{ end -}}
{{- end -}}

{{/* The chart's KafkaUser of a component: its role's user in topics/acls.yaml (templates/_users.tpl). */}}
{{- define "egov-bus.componentUserName" -}}
{{- include "egov-bus.policyUserName" . -}}
{{- end -}}

{{/* SASL user of a component: its own setting, the chart's KafkaUser for it, or kafka.auth.username. */}}
{{- define "egov-bus.kafkaUser" -}}
{{- $values := index .ctx.Values .component -}}
{{- if $values.kafkaUser -}}
{{- $values.kafkaUser -}}
{{- else if and .ctx.Values.strimzi.users.enabled .ctx.Values.strimzi.users.components -}}
{{- include "egov-bus.componentUserName" . -}}
{{- else -}}
{{- .ctx.Values.kafka.auth.username -}}
{{- end -}}
{{- end -}}

{{/* Secret holding a component's SASL password: kafka.auth.existingSecret, or the one Strimzi writes for its KafkaUser. */}}
{{- define "egov-bus.kafkaPasswordSecret" -}}
{{- if .ctx.Values.kafka.auth.existingSecret -}}
{{- .ctx.Values.kafka.auth.existingSecret -}}
{{- else if and .ctx.Values.strimzi.users.enabled .ctx.Values.strimzi.users.components -}}
{{- include "egov-bus.componentUserName" . -}}
{{- end -}}
{{- end -}}

{{/*
Environment of a component container: the shared env file plus secrets referenced by name.
dict "ctx" $ "component" "gateway"
*/}}
{{- define "egov-bus.env" -}}
{{- $ctx := .ctx -}}
- name: EGOV_ENV_FILE
  value: /etc/egov-bus/config/egov.env
- name: EGOV_CLIENT_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- if include "egov-bus.saslEnabled" $ctx }}
- name: EGOV_SASL_USERNAME
  value: {{ required (printf "a SASL user for the %s: set %s.kafkaUser, kafka.auth.username or strimzi.users.components" .component .component) (include "egov-bus.kafkaUser" .) | quote }}
- name: EGOV_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "kafka.auth.existingSecret is required for SASL (or enable strimzi.users.components)") (include "egov-bus.kafkaPasswordSecret" .) | quote }}
      key: {{ $ctx.Values.kafka.auth.passwordKey | quote }}
{{- end }}
{{- with $ctx.Values.registry.auth.existingSecret }}
- name: EGOV_SCHEMA_REGISTRY_BASIC_AUTH
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $ctx.Values.registry.auth.key | quote }}
{{- end }}
{{- end -}}

{{/* Mounts shared by the components: config, /tmp, the Kafka CA. */}}
{{- define "egov-bus.commonVolumeMounts" -}}
- name: config
  mountPath: /etc/egov-bus/config
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-ca
  mountPath: /etc/egov-bus/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "egov-bus.commonVolumes" -}}
- name: config
  configMap:
    name: {{ include "egov-bus.configMapName" . }}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret | quote }}
    items:
      - key: {{ .Values.kafka.tls.caKey | quote }}
        path: ca.crt
{{- end }}
{{- end -}}

{{/* Checksum of the rendered configuration: a change rolls the pods. */}}
{{- define "egov-bus.configChecksum" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | sha256sum -}}
{{- end -}}

{{/* Topic documents of files/topics.yaml (the catalogue's Strimzi export) as a list of dicts. */}}
{{- define "egov-bus.catalogueTopics" -}}
{{- $docs := list -}}
{{- range $raw := regexSplit "(?m)^---\\s*$" (.Files.Get "files/topics.yaml") -1 -}}
{{- $doc := fromYaml $raw -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "files/topics.yaml: a document does not parse: %s" (get $doc "Error")) -}}
{{- end -}}
{{- if and $doc (eq (get $doc "kind" | default "") "KafkaTopic") -}}
{{- $docs = append $docs $doc -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "topics" $docs) -}}
{{- end -}}

{{/*
Refuses a processor.dedupeWindow shorter than one minute, as bus.settings does (the schema only
checks its ISO 8601 form: days, then T with hours, minutes, seconds).
*/}}
{{- define "egov-bus.processor.checkDedupeWindow" -}}
{{- $window := .Values.processor.dedupeWindow | toString -}}
{{- $date := regexFind "^P[0-9]+D" $window -}}
{{- $time := regexFind "T.*$" $window -}}
{{- $days := regexFind "[0-9]+" $date | default "0" | atoi -}}
{{- $hours := regexFind "[0-9]+H" $time | trimSuffix "H" | default "0" | atoi -}}
{{- $minutes := regexFind "[0-9]+M" $time | trimSuffix "M" | default "0" | atoi -}}
{{- $seconds := regexFind "[0-9]+S" $time | trimSuffix "S" | default "0" | atoi -}}
{{- $total := add (mul $days 86400) (mul $hours 3600) (mul $minutes 60) $seconds -}}
{{- if lt (int $total) 60 -}}
{{- fail (printf "processor.dedupeWindow %q is shorter than one minute: the processors refuse it (e.g. P7D, PT12H)" $window) -}}
{{- end -}}
{{- end -}}
