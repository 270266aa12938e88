{{/* Environment shared by the web and worker containers. */}}
{{- define "langfuse.commonEnv" -}}
- name: DATABASE_HOST
  value: {{ include "langfuse.postgresql.host" . | quote }}
- name: DATABASE_PORT
  value: {{ .Values.postgresql.port | quote }}
- name: DATABASE_USERNAME
  value: {{ .Values.postgresql.username | quote }}
- name: DATABASE_NAME
  value: {{ .Values.postgresql.database | quote }}
{{ include "langfuse.secretEnv" (dict "root" . "name" "DATABASE_PASSWORD" "key" .Values.secretKeys.postgresPassword) }}
{{ include "langfuse.secretEnv" (dict "root" . "name" "SALT" "key" .Values.secretKeys.salt) }}
{{ include "langfuse.secretEnv" (dict "root" . "name" "ENCRYPTION_KEY" "key" .Values.secretKeys.encryptionKey) }}
- name: CLICKHOUSE_MIGRATION_URL
  value: {{ printf "clickhouse://%s:%v" (include "langfuse.clickhouse.host" .) .Values.clickhouse.nativePort | quote }}
- name: CLICKHOUSE_URL
  value: {{ printf "http://%s:%v" (include "langfuse.clickhouse.host" .) .Values.clickhouse.httpPort | quote }}
- name: CLICKHOUSE_DB
  value: {{ .Values.clickhouse.database | quote }}
- name: CLICKHOUSE_USER
  value: {{ .Values.clickhouse.username | quote }}
{{ include "langfuse.secretEnv" (dict "root" . "name" "CLICKHOUSE_PASSWORD" "key" .Values.secretKeys.clickhousePassword) }}
- name: CLICKHOUSE_CLUSTER_ENABLED
  value: {{ .Values.clickhouse.clusterEnabled | quote }}
- name: REDIS_HOST
  value: {{ include "langfuse.redis.host" . | quote }}
- name: REDIS_PORT
  value: {{ .Values.redis.port | quote }}
{{ include "langfuse.secretEnv" (dict "root" . "name" "REDIS_AUTH" "key" .Values.secretKeys.redisPassword) }}
{{- range $use, $prefix := dict "EVENT_UPLOAD" .Values.s3.eventUploadPrefix "MEDIA_UPLOAD" .Values.s3.mediaUploadPrefix }}
- name: LANGFUSE_S3_{{ $use }}_BUCKET
  value: {{ $.Values.s3.bucket | quote }}
- name: LANGFUSE_S3_{{ $use }}_PREFIX
  value: {{ $prefix | quote }}
- name: LANGFUSE_S3_{{ $use }}_REGION
  value: {{ $.Values.s3.region | quote }}
- name: LANGFUSE_S3_{{ $use }}_ENDPOINT
  value: {{ include "langfuse.s3.endpoint" $ | quote }}
- name: LANGFUSE_S3_{{ $use }}_FORCE_PATH_STYLE
  value: {{ $.Values.s3.forcePathStyle | quote }}
{{ include "langfuse.secretEnv" (dict "root" $ "name" (printf "LANGFUSE_S3_%s_ACCESS_KEY_ID" $use) "key" $.Values.secretKeys.s3AccessKey) }}
{{ include "langfuse.secretEnv" (dict "root" $ "name" (printf "LANGFUSE_S3_%s_SECRET_ACCESS_KEY" $use) "key" $.Values.secretKeys.s3SecretKey) }}
{{- end }}
- name: LANGFUSE_S3_BATCH_EXPORT_ENABLED
  value: "false"
- name: TELEMETRY_ENABLED
  value: {{ .Values.features.telemetryEnabled | quote }}
- name: LANGFUSE_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: LANGFUSE_LOG_FORMAT
  value: json
{{- end }}

{{/* Everything the web pod waits for before it starts its migrations. */}}
{{- define "langfuse.dependencyTargets" -}}
{{- $targets := list (printf "%s:%v" (include "langfuse.postgresql.host" .) .Values.postgresql.port) -}}
{{- $targets = append $targets (printf "http://%s:%v/ping" (include "langfuse.clickhouse.host" .) .Values.clickhouse.httpPort) -}}
{{- $targets = append $targets (printf "%s:%v" (include "langfuse.clickhouse.host" .) .Values.clickhouse.nativePort) -}}
{{- $targets = append $targets (printf "%s:%v" (include "langfuse.redis.host" .) .Values.redis.port) -}}
{{- if .Values.s3.deploy -}}
{{- $targets = append $targets (printf "http://%s-minio:9000/minio/health/ready" (include "langfuse.fullname" .)) -}}
{{- end -}}
{{- toJson $targets -}}
{{- end }}
