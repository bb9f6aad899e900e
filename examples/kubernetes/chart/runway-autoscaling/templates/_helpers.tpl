{{/*
The Deployment's namespace: .Values.namespace, or the release's.
*/}}
{{- define "runway.namespace" -}}
{{- .Values.namespace | default .Release.Namespace -}}
{{- end -}}

{{/*
The Deployment's name, required, and the checks of the values every
template relies on.
*/}}
{{- define "runway.deployment" -}}
{{- if not (has .Values.path (list "scrape" "sidecar" "otlp")) -}}
{{- fail (printf "path %q: want scrape, sidecar or otlp" .Values.path) -}}
{{- end -}}
{{- if not (has .Values.monitor (list "PodMonitor" "ServiceMonitor")) -}}
{{- fail (printf "monitor %q: want PodMonitor or ServiceMonitor" .Values.monitor) -}}
{{- end -}}
{{- required "deployment: the name of the Deployment to scale" .Values.deployment -}}
{{- end -}}

{{/*
The labels that select the Deployment's series, as
github.com/otel-runway/runway/examples/scalequery writes them (a test
compares the two): namespace and pod name, never job or service. Pods of a
Deployment are named <deployment>-<pod-template-hash>-<5 characters>. Pushed
over OTLP into Prometheus 3, the series carry the promoted resource
attributes k8s.namespace.name and k8s.pod.name instead.
*/}}
{{- define "runway.selector" -}}
{{- $pod := printf "%s-[a-z0-9]+-[a-z0-9]{5}" (include "runway.deployment" . | replace "." "\\.") -}}
{{- if eq .Values.path "otlp" -}}
k8s_namespace_name={{ include "runway.namespace" . | quote }},k8s_pod_name=~{{ $pod | quote }}
{{- else -}}
namespace={{ include "runway.namespace" . | quote }},pod=~{{ $pod | quote }}
{{- end -}}
{{- end -}}

{{/*
The KEDA query: the Deployment's total time-weighted number of requests in
flight, averaged over a minute (scalequery's TimeWeighted form). On the
scrape paths it keeps only the pods that are still targets.
*/}}
{{- define "runway.query" -}}
{{- $sel := include "runway.selector" . -}}
{{- $q := printf "avg_over_time(irate(runway_requests_in_flight_time_seconds_total{%s}[1m])[1m:1s])" $sel -}}
{{- if ne .Values.path "otlp" -}}
{{- $q = printf "%s and on(namespace, pod) up{%s}" $q $sel -}}
{{- end -}}
sum({{ $q }})
{{- end -}}

{{/*
The monitor's selector: .Values.podLabels, or app.kubernetes.io/name.
*/}}
{{- define "runway.podLabels" -}}
{{- if .Values.podLabels -}}
{{- toYaml .Values.podLabels -}}
{{- else -}}
app.kubernetes.io/name: {{ include "runway.deployment" . }}
{{- end -}}
{{- end -}}

{{/*
Labels of every object the chart renders.
*/}}
{{- define "runway.labels" -}}
app.kubernetes.io/name: {{ include "runway.deployment" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: runway-autoscaling
{{- end -}}
