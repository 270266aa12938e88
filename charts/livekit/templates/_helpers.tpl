{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "livekit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; component suffixes are appended, so keep it at 50 characters. */}}
{{- define "livekit.fullname" -}}
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

{{- define "livekit.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "livekit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tutorplane
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "web"). */}}
{{- define "livekit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "livekit.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "livekit.componentLabels" -}}
{{ include "livekit.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The Secret every credential is read from. It is never created by this chart. */}}
{{- define "livekit.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-credentials" (include "livekit.fullname" .)) }}
{{- end }}

{{/* An env entry reading one key of the credentials Secret: (dict "root" $ "name" "SALT" "key" "salt"). */}}
{{- define "livekit.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "livekit.secretName" .root }}
      key: {{ .key }}
{{- end }}

{{/* `ref` verbatim (a full reference, e.g. set by Tilt), else repository@digest, else repository:tag. */}}
{{- define "livekit.image" -}}
{{- if .ref }}{{ .ref }}{{ else if .digest }}{{ .repository }}@{{ .digest }}{{ else }}{{ .repository }}:{{ .tag }}{{ end }}
{{- end }}

{{- define "livekit.serviceAccountName" -}}
{{- include "livekit.fullname" . }}
{{- end }}

{{- define "livekit.redis.address" -}}
{{- if .Values.redis.deploy }}{{ include "livekit.fullname" . }}-redis:6379{{ else }}{{ required "redis.address is required when redis.deploy is false" .Values.redis.address }}{{ end }}
{{- end }}

{{/* The URL the agents and the gateway use to reach the server from inside the cluster. */}}
{{- define "livekit.internalUrl" -}}
{{- if .Values.server.enabled }}ws://{{ include "livekit.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.port }}{{ else }}{{ required "externalUrl is required when server.enabled is false" .Values.externalUrl }}{{ end }}
{{- end }}

{{/* Pod-level security context shared by every component (the UID differs per image). */}}
{{- define "livekit.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "livekit.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .readOnly | default false }}
capabilities:
  drop: ["ALL"]
{{- end }}

