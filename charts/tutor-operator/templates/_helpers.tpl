{{- define "tutor-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; suffixes are appended, so keep it at 50 characters. */}}
{{- define "tutor-operator.fullname" -}}
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

{{- define "tutor-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tutor-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tutor-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tutor-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tutorplane
app.kubernetes.io/component: operator
{{- end }}

{{- define "tutor-operator.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.ref }}{{ .Values.image.ref }}{{ else if .Values.image.digest }}{{ .Values.image.repository }}@{{ .Values.image.digest }}{{ else }}{{ .Values.image.repository }}:{{ $tag }}{{ end }}
{{- end }}

{{/* Namespaces holding TutorDeployments (namespaced mode): the list, or the release namespace. */}}
{{- define "tutor-operator.watchedNamespaces" -}}
{{- if .Values.watch.namespaces }}{{ toJson (uniq .Values.watch.namespaces) }}{{ else }}{{ toJson (list .Release.Namespace) }}{{ end }}
{{- end }}

{{- define "tutor-operator.webhookServiceName" -}}
{{ include "tutor-operator.fullname" . }}-webhook
{{- end }}

{{- define "tutor-operator.webhookHost" -}}
{{ include "tutor-operator.webhookServiceName" . }}.{{ .Release.Namespace }}.svc
{{- end }}

{{/* certManager | secret | generated: where the webhook's serving certificate comes from. */}}
{{- define "tutor-operator.webhookCertMode" -}}
{{- if .Values.webhook.certManager.enabled }}certManager{{ else if .Values.webhook.tls.existingSecret }}secret{{ else }}generated{{ end }}
{{- end }}

{{- define "tutor-operator.webhookSecretName" -}}
{{- if eq (include "tutor-operator.webhookCertMode" .) "secret" }}{{ .Values.webhook.tls.existingSecret }}{{ else }}{{ include "tutor-operator.fullname" . }}-webhook-tls{{ end }}
{{- end }}

{{- define "tutor-operator.webhookDnsNames" -}}
{{- $service := include "tutor-operator.webhookServiceName" . -}}
{{- toJson (list $service (printf "%s.%s" $service .Release.Namespace) (include "tutor-operator.webhookHost" .) (printf "%s.cluster.local" (include "tutor-operator.webhookHost" .))) -}}
{{- end }}

{{/* Verbs on the objects the operator builds and owns. */}}
{{- define "tutor-operator.ownVerbs" -}}
["get", "list", "watch", "create", "patch", "delete"]
{{- end }}

{{/* What the operator touches, the same rules `tutorplane-operator rbac` prints (a test keeps
     them equal): the TutorDeployments, Events, kopf's peering object, and every kind it builds. */}}
{{- define "tutor-operator.rules" -}}
- apiGroups: ["tutorplane.dev"]
  resources: ["tutordeployments"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["tutorplane.dev"]
  resources: ["tutordeployments/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["kopf.dev"]
  resources: [{{ .Values.watch.clusterwide | ternary "clusterkopfpeerings" "kopfpeerings" | quote }}]
  verbs: ["get", "list", "watch", "patch"]
{{- if .Values.watch.clusterwide }}
# kopf's discovery of resources and namespaces, needed only when it watches the whole cluster.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}
- apiGroups: [""]
  resources: ["configmaps", "services", "serviceaccounts"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses", "networkpolicies"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
{{- if .Values.rbac.keda }}
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
{{- end }}
{{- if .Values.rbac.managedDependencies }}
# Managed Langfuse/Supabase releases. Secrets are written once and never read or updated.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create", "delete"]
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: {{ include "tutor-operator.ownVerbs" . }}
{{- end }}
{{- end }}

{{- define "tutor-operator.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}
