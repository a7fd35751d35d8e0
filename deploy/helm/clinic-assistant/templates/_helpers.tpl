{{- define "clinic-assistant.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "clinic-assistant.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "rasa") */}}
{{- define "clinic-assistant.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "clinic-assistant.secretName" -}}
{{- required "existingSecret: name the Secret holding TRACKER_STORE_URL, REDIS_PASSWORD, CONVERSATION_ID_SECRET and LOG_ID_SALT (docs/operations.md)" .Values.existingSecret -}}
{{- end -}}

{{- define "clinic-assistant.publicHost" -}}
{{- $url := required "publicUrl: where patients reach the assistant, e.g. https://assistant.clinic.example" .Values.publicUrl -}}
{{- (urlParse $url).host -}}
{{- end -}}

{{/* The pod's security settings: never root, no privilege, nothing written outside its emptyDirs. */}}
{{- define "clinic-assistant.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "clinic-assistant.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}
