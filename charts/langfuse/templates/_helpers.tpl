{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "langfuse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; component suffixes are appended, so keep it at 50 characters. */}}
{{- define "langfuse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "langfuse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "langfuse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tutorplane
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "web"). */}}
{{- define "langfuse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "langfuse.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "langfuse.componentLabels" -}}
{{ include "langfuse.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The Secret every credential is read from. It is never created by this chart. */}}
{{- define "langfuse.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-credentials" (include "langfuse.fullname" .)) }}
{{- end }}

{{/* An env entry reading one key of the credentials Secret: (dict "root" $ "name" "SALT" "key" "salt"). */}}
{{- define "langfuse.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "langfuse.secretName" .root }}
      key: {{ .key }}
{{- end }}

{{/* `ref` verbatim (a full reference, e.g. set by Tilt), else repository@digest, else repository:tag. */}}
{{- define "langfuse.image" -}}
{{- if .ref }}{{ .ref }}{{ else if .digest }}{{ .repository }}@{{ .digest }}{{ else }}{{ .repository }}:{{ .tag }}{{ end }}
{{- end }}

{{- define "langfuse.serviceAccountName" -}}
{{- include "langfuse.fullname" . }}
{{- end }}

{{- define "langfuse.postgresql.host" -}}
{{- if .Values.postgresql.deploy }}{{ include "langfuse.fullname" . }}-postgresql{{ else }}{{ required "postgresql.host is required when postgresql.deploy is false" .Values.postgresql.host }}{{ end }}
{{- end }}

{{- define "langfuse.clickhouse.host" -}}
{{- if .Values.clickhouse.deploy }}{{ include "langfuse.fullname" . }}-clickhouse{{ else }}{{ required "clickhouse.host is required when clickhouse.deploy is false" .Values.clickhouse.host }}{{ end }}
{{- end }}

{{- define "langfuse.redis.host" -}}
{{- if .Values.redis.deploy }}{{ include "langfuse.fullname" . }}-redis{{ else }}{{ required "redis.host is required when redis.deploy is false" .Values.redis.host }}{{ end }}
{{- end }}

{{- define "langfuse.s3.endpoint" -}}
{{- if .Values.s3.deploy }}http://{{ include "langfuse.fullname" . }}-minio:9000{{ else }}{{ required "s3.endpoint is required when s3.deploy is false" .Values.s3.endpoint }}{{ end }}
{{- end }}

{{- define "langfuse.web.url" -}}
http://{{ include "langfuse.fullname" . }}-web.{{ .Release.Namespace }}.svc:{{ .Values.web.port }}
{{- end }}

{{/* Pod-level security context shared by every component (the UID differs per image). */}}
{{- define "langfuse.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "langfuse.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .readOnly | default false }}
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Init container waiting for TCP ports / HTTP paths: (dict "root" $ "targets" (list "host:port" "http://host:port/path")). */}}
{{- define "langfuse.waitFor" -}}
- name: wait-for-dependencies
  image: {{ include "langfuse.image" .root.Values.waitImage }}
  imagePullPolicy: {{ .root.Values.waitImage.pullPolicy }}
  command: ["bash", "/opt/tutorplane/wait-for.sh"]
  args:
    {{- range .targets }}
    - {{ . | quote }}
    {{- end }}
  env:
    - name: WAIT_TIMEOUT_SECONDS
      value: {{ .root.Values.waitTimeoutSeconds | quote }}
  securityContext:
    {{- include "langfuse.containerSecurityContext" (dict "readOnly" true) | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 64Mi}
  volumeMounts:
    - name: wait-for
      mountPath: /opt/tutorplane
      readOnly: true
{{- end }}

{{- define "langfuse.waitForVolume" -}}
- name: wait-for
  configMap:
    name: {{ include "langfuse.fullname" . }}-wait-for
{{- end }}
