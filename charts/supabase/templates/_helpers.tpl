{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "supabase.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; component suffixes are appended, so keep it at 50 characters. */}}
{{- define "supabase.fullname" -}}
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

{{- define "supabase.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "supabase.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tutorplane
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "web"). */}}
{{- define "supabase.selectorLabels" -}}
app.kubernetes.io/name: {{ include "supabase.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "supabase.componentLabels" -}}
{{ include "supabase.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The Secret every credential is read from. It is never created by this chart. */}}
{{- define "supabase.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-credentials" (include "supabase.fullname" .)) }}
{{- end }}

{{/* An env entry reading one key of the credentials Secret: (dict "root" $ "name" "SALT" "key" "salt"). */}}
{{- define "supabase.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "supabase.secretName" .root }}
      key: {{ .key }}
{{- end }}

{{/* `ref` verbatim (a full reference, e.g. set by Tilt), else repository@digest, else repository:tag. */}}
{{- define "supabase.image" -}}
{{- if .ref }}{{ .ref }}{{ else if .digest }}{{ .repository }}@{{ .digest }}{{ else }}{{ .repository }}:{{ .tag }}{{ end }}
{{- end }}

{{- define "supabase.serviceAccountName" -}}
{{- include "supabase.fullname" . }}
{{- end }}

{{- define "supabase.postgresql.host" -}}
{{- if .Values.postgresql.deploy }}{{ include "supabase.fullname" . }}-postgresql{{ else }}{{ required "postgresql.host is required when postgresql.deploy is false" .Values.postgresql.host }}{{ end }}
{{- end }}

{{- define "supabase.postgresql.address" -}}
{{ include "supabase.postgresql.host" . }}:{{ .Values.postgresql.port }}
{{- end }}

{{/* postgresql://user@host:port/db (passwords travel separately, via PGPASSWORD). */}}
{{- define "supabase.postgresql.url" -}}
postgresql://{{ .user }}@{{ include "supabase.postgresql.address" .root }}/{{ .root.Values.postgresql.database }}
{{- end }}

{{/* The migration Job is named after what it runs: a new image or a changed roles.sql gives a
     new Job (Jobs are immutable); an upgrade that changes neither leaves the completed Job alone. */}}
{{- define "supabase.migrationsJobName" -}}
{{- $inputs := list (include "supabase.image" .Values.migrations.image) (.Files.Get "files/roles.sql") .Values.postgresql.database .Values.secretKeys .Values.auth.enabled -}}
{{- printf "%s-migrate-%s" (include "supabase.fullname" .) ($inputs | toJson | sha256sum | trunc 10) }}
{{- end }}

{{- define "supabase.auth.url" -}}
http://{{ include "supabase.fullname" . }}-auth.{{ .Release.Namespace }}.svc:{{ .Values.auth.port }}
{{- end }}

{{/* Pod-level security context shared by every component (the UID differs per image). */}}
{{- define "supabase.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "supabase.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .readOnly | default false }}
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Init container waiting for dependencies:
     (dict "root" $ "name" "wait-for-db" "targets" (list "host:port" "http://host:port/path" "postgresql://user@host:port/db")
           "passwordKey" "<secret key for PGPASSWORD, optional>") */}}
{{- define "supabase.waitFor" -}}
- name: {{ .name | default "wait-for-dependencies" }}
  image: {{ include "supabase.image" .root.Values.waitImage }}
  imagePullPolicy: {{ .root.Values.waitImage.pullPolicy }}
  command: ["bash", "/opt/tutorplane/wait-for.sh"]
  args:
    {{- range .targets }}
    - {{ . | quote }}
    {{- end }}
  env:
    - name: WAIT_TIMEOUT_SECONDS
      value: {{ .root.Values.waitTimeoutSeconds | quote }}
    {{- if .passwordKey }}
    {{- include "supabase.secretEnv" (dict "root" .root "name" "PGPASSWORD" "key" .passwordKey) | nindent 4 }}
    {{- end }}
  securityContext:
    {{- include "supabase.containerSecurityContext" (dict "readOnly" true) | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 64Mi}
  volumeMounts:
    - name: wait-for
      mountPath: /opt/tutorplane
      readOnly: true
{{- end }}

{{- define "supabase.waitForVolume" -}}
- name: wait-for
  configMap:
    name: {{ include "supabase.fullname" . }}-wait-for
{{- end }}
