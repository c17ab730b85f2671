// Package grafana renders the dashboards model as Grafana dashboard JSON
// (the classic JSON model, schemaVersion 42, built with Grafana's
// foundation SDK generated from Grafana's own schemas), a file-provisioning
// config for them, and a permissions manifest naming the operator teams and
// users who may see them: operator principals only, never an
// organization-wide role. Push puts the same into a Grafana over its HTTP
// API, idempotently, with the folder's ACL replaced by exactly those
// operators, and refuses an organization with members who are not
// operators. docs/dashboards.md says why the foundation SDK and not
// grafana-tools/sdk, and what the push's test double does not model.
package grafana
