{{- define "coder-k8s.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "coder-k8s.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "coder-k8s.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "coder-k8s.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "coder-k8s.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coder-k8s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "coder-k8s.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "coder-k8s.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "coder-k8s.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "coder-k8s.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret with tls.crt, tls.key and ca.crt that every replica serves with. */}}
{{- define "coder-k8s.certificateSecret" -}}
{{- if eq .Values.certificate.mode "secret" -}}
{{- required "certificate.existingSecret is required with certificate.mode=secret" .Values.certificate.existingSecret -}}
{{- else -}}
{{- printf "%s-serving-cert" (include "coder-k8s.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "coder-k8s.apiServiceName" -}}
v1alpha1.aggregation.coder.com
{{- end -}}

{{- define "coder-k8s.serverEnabled" -}}
{{- if ne .Values.app "controller" }}true{{ end -}}
{{- end -}}
