{{/* The chart's servers: their role (scripts/ops/container.py), port, health path, settings and
image. The alert sender takes no requests, so it has no Service. */}}
{{- define "clinic-assistant.components" -}}
{{- $components := list
  (dict "name" "rasa" "port" 5005 "health" "/webhooks/rest/" "startupSeconds" 300 "service" true "secrets" true "settings" .Values.rasa "image" .Values.image)
  (dict "name" "actions" "port" 5055 "health" "/health" "startupSeconds" 120 "service" true "secrets" true "settings" .Values.actions "image" .Values.image)
  (dict "name" "alerts" "port" 5056 "health" "/health" "startupSeconds" 60 "service" false "secrets" true "settings" .Values.alerts "image" .Values.image)
  (dict "name" "inbox" "port" 8090 "health" "/login" "startupSeconds" 120 "service" true "secrets" true "settings" .Values.inbox "image" .Values.image)
  (dict "name" "page" "port" 8080 "health" "/" "startupSeconds" 30 "service" true "secrets" false "settings" .Values.page "image" .Values.pageImage)
-}}
{{- toJson $components -}}
{{- end -}}
