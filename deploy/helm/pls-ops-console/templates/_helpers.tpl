{{/* Names and labels. */}}
{{- define "pls.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pls.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select one component's pods: (dict "root" $ "component" "web") */}}
{{- define "pls.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pls.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pls.labels" -}}
{{ include "pls.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "pls.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "pls.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pls.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pls.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-env" (include "pls.fullname" .)) -}}
{{- end -}}

{{/*
The environment every process gets: the non-secret settings here, the secret ones from the
Secret (envFrom). ALLOWED_HOSTS starts with the pod's own IP (both spellings Django may see
in a Host header), so probes and scrapes that address the pod directly are accepted.
*/}}
{{- define "pls.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ALLOWED_HOSTS
  value: {{ prepend .Values.config.allowedHosts "$(POD_IP),[$(POD_IP)]" | join "," | quote }}
- name: CSRF_TRUSTED_ORIGINS
  value: {{ .Values.config.csrfTrustedOrigins | join "," | quote }}
- name: PLS_PUBLIC_URL
  value: {{ .Values.config.publicUrl | default "" | quote }}
- name: SECURE_SSL_REDIRECT
  value: {{ .Values.config.secureSslRedirect | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
{{- range $name, $value := .Values.config.extraEnv }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "pls.envFrom" -}}
- secretRef:
    name: {{ include "pls.secretName" . }}
{{- end -}}

{{/* A chart-made Secret's digest on every pod, so changing a value rolls the pods. */}}
{{- define "pls.podAnnotations" -}}
{{- if not .Values.secret.existingSecret -}}
checksum/secret: {{ .Values.secret.values | toJson | sha256sum }}
{{ end -}}
{{- with .Values.podAnnotations -}}
{{ toYaml . }}
{{ end -}}
{{- end -}}

{{/*
Scheduling and security settings shared by every pod. A hook's pod (the migrate Job) runs
before the release's ServiceAccount exists, so it takes the namespace's default account
unless serviceAccount names one of yours: (dict "root" $ "hook" true).
*/}}
{{- define "pls.podSpecCommon" -}}
{{- $root := .root | default . -}}
{{- with $root -}}
{{- if or (not $.hook) (not .Values.serviceAccount.create) -}}
serviceAccountName: {{ include "pls.serviceAccountName" . }}
{{ end -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The writable places a process needs under a read-only root filesystem: /tmp (beat's schedule
file, temporary files), the Prometheus multi-process folder (empty at every start, as
gunicorn.conf.py wants) and $HOME (gunicorn's control socket in ~/.gunicorn).
*/}}
{{- define "pls.scratchVolumes" -}}
- name: tmp
  emptyDir: {}
- name: prometheus
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
- name: home
  emptyDir: {}
{{- end -}}

{{- define "pls.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: prometheus
  mountPath: /tmp/prometheus
- name: home
  mountPath: /home/app
{{- end -}}

{{/* One app container: (dict "root" $ "name" "web" "command" (list ...)) */}}
{{- define "pls.container" -}}
- name: {{ .name }}
  image: {{ include "pls.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command:
    {{- toYaml .command | nindent 4 }}
  env:
    {{- include "pls.env" .root | nindent 4 }}
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  envFrom:
    {{- include "pls.envFrom" .root | nindent 4 }}
  securityContext:
    {{- toYaml .root.Values.containerSecurityContext | nindent 4 }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  volumeMounts:
    {{- include "pls.scratchMounts" .root | nindent 4 }}
    {{- with .volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .extra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
