// Package grafana renders the dashboards model as Grafana dashboard JSON
// (the classic JSON model, schemaVersion 42, built with Grafana's
// foundation SDK generated from Grafana's own schemas), a file-provisioning
// config for them, and a permissions manifest naming the operator teams and
// users who may see them: operator principals only, never an
// organization-wide role. docs/dashboards.md says why the foundation SDK and
// not grafana-tools/sdk.
package grafana
