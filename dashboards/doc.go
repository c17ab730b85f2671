// Package dashboards builds the dashboards of loaded packs (their
// dashboards: sections, after operators' overrides added or hid panels)
// into one model: panels with PromQL queries over the metrics the agent and
// server expose on /metrics, checked against that list with file and line.
// Renderers read the model: the Grafana exporter (package
// dashboards/grafana) and, later, the console.
//
// Dashboards are for operators only: the model carries no principal at all;
// who may see them is the operators' configuration (see dashboards/grafana).
// The format is documented in docs/dashboards.md.
package dashboards
