{{/* vim: set filetype=mustache: */}}

{{/*
The bundled Apicurio Registry with KafkaSQL storage (registry.apicurio.enabled, storage.kind
kafkasql): "true" or nothing. Its topics (templates/kafkatopics.yaml), its KafkaUser
(templates/kafkausers.yaml) and its Kafka client settings (templates/registry.yaml) follow it.
*/}}
{{- define "egov-bus.registry.kafkasql" -}}
{{- if and .Values.registry.apicurio.enabled (eq .Values.registry.apicurio.storage.kind "kafkasql") }}true{{ end -}}
{{- end -}}

{{/*
Replication of the registry's topics: strimzi.topics.replicas when set (the override of every
catalogue topic), else 3, like the catalogue's own topics; min.insync.replicas 2 (never above the
replicas: a topic with fewer replicas than that would refuse every acks=all write).
*/}}
{{- define "egov-bus.registry.topicReplicas" -}}
{{- if kindIs "invalid" .Values.strimzi.topics.replicas }}3{{ else }}{{ int .Values.strimzi.topics.replicas }}{{ end -}}
{{- end -}}

{{/* The registry's KafkaUser is rendered (and the registry authenticates as it): "true" or nothing. */}}
{{- define "egov-bus.registry.strimziUser" -}}
{{- if and (include "egov-bus.registry.kafkasql" .) .Values.strimzi.users.enabled .Values.strimzi.users.components }}true{{ end -}}
{{- end -}}

{{/*
The registry's three KafkaSQL topics as KafkaTopic resources. One partition: the journal is
replayed in the order it was written (ids are assigned from it). Never deleted or compacted: the
journal is the registry's only copy of every schema.
*/}}
{{- define "egov-bus.registry.kafkaTopics" -}}
{{- $kafkasql := .Values.registry.apicurio.storage.kafkasql -}}
{{- $replicas := include "egov-bus.registry.topicReplicas" . | int -}}
{{- $labels := merge (dict "strimzi.io/cluster" .Values.strimzi.clusterName "app.kubernetes.io/component" "registry") (include "egov-bus.labels" . | fromYaml) -}}
{{- range $topic := list $kafkasql.topic $kafkasql.snapshotsTopic $kafkasql.eventsTopic }}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaTopic
metadata:
  name: {{ $topic | lower | replace "_" "-" }}
  namespace: {{ $.Release.Namespace | quote }}
  labels:
    {{- toYaml $labels | nindent 4 }}
  {{- with (include "egov-bus.annotations" $) }}{{ . | nindent 2 }}{{ end }}
spec:
  topicName: {{ $topic }}
  partitions: 1
  replicas: {{ $replicas }}
  config:
    cleanup.policy: delete
    retention.ms: -1
    retention.bytes: -1
    min.insync.replicas: {{ min 2 $replicas }}
{{- end }}
{{- end -}}

{{/*
The registry's KafkaUser: SCRAM-SHA-512, and exactly what Apicurio's KafkaSQL storage does with
an existing journal: read and write its journal and snapshots, write its events, describe all three
(DescribeConfigs: it checks their retention and cleanup policy before it starts, and is not ready
without it), consume from a fresh group per start (prefix storage.kafkasql.groupPrefix),
idempotent writes. No Create: the chart renders the topics
(strimzi.topics.enabled) and the registry is told not to create them.
*/}}
{{- define "egov-bus.registry.kafkaUser" -}}
{{- $kafkasql := .Values.registry.apicurio.storage.kafkasql -}}
{{- $labels := merge (dict "strimzi.io/cluster" .Values.strimzi.clusterName "app.kubernetes.io/component" "kafka-user" "egov.go.id/principal-role" "registry") (include "egov-bus.labels" . | fromYaml) }}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaUser
metadata:
  name: registry
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- toYaml $labels | nindent 4 }}
  {{- with (include "egov-bus.annotations" .) }}{{ . | nindent 2 }}{{ end }}
spec:
  authentication:
    type: scram-sha-512
  authorization:
    type: simple
    acls:
      - resource: {type: cluster}
        operations: [IdempotentWrite]
        host: "*"
      {{- range $topic := list $kafkasql.topic $kafkasql.snapshotsTopic }}
      - resource: {type: topic, name: {{ $topic | quote }}, patternType: literal}
        operations: [Describe, DescribeConfigs, Read, Write]
        host: "*"
      {{- end }}
      # The events topic is written for others to read; the registry never reads it back.
      - resource: {type: topic, name: {{ $kafkasql.eventsTopic | quote }}, patternType: literal}
        operations: [Describe, DescribeConfigs, Write]
        host: "*"
      - resource: {type: group, name: {{ $kafkasql.groupPrefix | quote }}, patternType: prefix}
        operations: [Read]
        host: "*"
{{- end -}}

{{/*
Kafka client environment of the registry's KafkaSQL storage. apicurio.kafka.common.* reaches all
of its Kafka clients (producer, consumers, admin); the apicurio.kafkasql.security.* settings are
not used: their truststore needs a password, which a PEM CA has not.
*/}}
{{- define "egov-bus.registry.kafkasqlEnv" -}}
{{- $kafkasql := .Values.registry.apicurio.storage.kafkasql -}}
{{- $protocol := .Values.kafka.securityProtocol -}}
- name: APICURIO_KAFKASQL_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: APICURIO_KAFKASQL_TOPIC
  value: {{ $kafkasql.topic | quote }}
- name: APICURIO_KAFKASQL_SNAPSHOTS_TOPIC
  value: {{ $kafkasql.snapshotsTopic | quote }}
- name: APICURIO_EVENTS_KAFKA_TOPIC
  value: {{ $kafkasql.eventsTopic | quote }}
- name: APICURIO_KAFKASQL_TOPIC_AUTO_CREATE
  value: {{ ternary "false" "true" .Values.strimzi.topics.enabled | quote }}
- name: APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX
  value: {{ $kafkasql.groupPrefix | quote }}
# Every journal write waits for the in-sync replicas and is written once, like the bus's producers.
- name: APICURIO_KAFKASQL_PRODUCER_ACKS
  value: "all"
- name: APICURIO_KAFKASQL_PRODUCER_ENABLE_IDEMPOTENCE
  value: "true"
{{- if ne $protocol "PLAINTEXT" }}
- name: APICURIO_KAFKA_COMMON_SECURITY_PROTOCOL
  value: {{ $protocol | quote }}
{{- end }}
{{- if hasPrefix "SASL" $protocol }}
{{- $secret := $kafkasql.auth.existingSecret | default (ternary "registry" "" (eq (include "egov-bus.registry.strimziUser" .) "true")) }}
- name: APICURIO_KAFKA_COMMON_SASL_MECHANISM
  value: {{ .Values.kafka.saslMechanism | quote }}
- name: APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "a SASL login for the registry (kafka.securityProtocol %s): set registry.apicurio.storage.kafkasql.auth.existingSecret, or enable strimzi.users (and strimzi.users.components) for its KafkaUser registry" $protocol) $secret | quote }}
      key: {{ $kafkasql.auth.jaasConfigKey | quote }}
{{- end }}
{{- if and (hasSuffix "SSL" $protocol) .Values.kafka.tls.existingSecret }}
- name: APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_TYPE
  value: "PEM"
- name: APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_LOCATION
  value: "/etc/apicurio/kafka-ca/ca.crt"
{{- end }}
{{- end -}}
