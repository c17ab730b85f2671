package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"crmwatch/dashboards"
)

// DatasourceVar is the dashboard variable every query's data source is:
// the operator picks their Prometheus; no data-source id is written.
const DatasourceVar = "datasource"

func ptr[T any](v T) *T { return &v }

// dsRef points at the data-source variable, not at a concrete data source.
var dsRef = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${" + DatasourceVar + "}")}

// Dashboard renders one dashboard as Grafana's JSON model (indented, the
// same bytes for the same input).
func Dashboard(d dashboards.Dashboard) ([]byte, error) {
	b := dashboard.NewDashboardBuilder(d.Title).
		Uid(d.UID).
		Description(d.Description).
		Tags([]string{"crmwatch", "pack:" + d.Pack}).
		Time("now-6h", "now").
		Refresh("1m").
		Timezone("browser").
		Readonly(). // changes come from the pack, not the UI
		WithVariable(dashboard.NewDatasourceVariableBuilder(DatasourceVar).Label("Prometheus").Type("prometheus"))
	for _, v := range d.Variables {
		if v == dashboards.VarHost {
			b.WithVariable(dashboard.NewQueryVariableBuilder(v).Label("Host").
				Datasource(dsRef).
				Query(dashboard.StringOrMap{String: ptr("label_values(crmwatch_perfcounter_value, host)")}).
				Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
				Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc).
				Multi(true).IncludeAll(true).AllValue(".*"))
		}
	}
	for i, p := range d.Panels {
		b.WithPanel(panel(p, uint32(i+1)))
	}
	out, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.ID, err)
	}
	return json.MarshalIndent(out, "", "  ")
}

// panel builds one panel of the model's kind, 12 wide (two per row).
func panel(p dashboards.Panel, id uint32) cog.Builder[dashboard.Panel] {
	desc := p.Description
	if len(p.Rules) > 0 {
		desc = strings.TrimSpace(desc + "\n\nExplains the alerts of: " + strings.Join(p.Rules, ", "))
	}
	targets := make([]cog.Builder[variants.Dataquery], len(p.Queries))
	for i, q := range p.Queries {
		qb := prometheus.NewDataqueryBuilder().Datasource(dsRef).Expr(q.Expr).RefId(string(rune('A' + i)))
		if q.Legend != "" {
			qb.LegendFormat(q.Legend)
		}
		if p.Kind == "table" || p.Kind == "bargauge" {
			qb.Instant().Format(prometheus.PromQueryFormatTable)
		}
		targets[i] = qb
	}
	const w, h = 12, 8
	switch p.Kind {
	case "stat":
		return stat.NewPanelBuilder().Id(id).Title(p.Title).Description(desc).Datasource(dsRef).Unit(p.Unit).Targets(targets).Span(w).Height(h)
	case "bargauge":
		return bargauge.NewPanelBuilder().Id(id).Title(p.Title).Description(desc).Datasource(dsRef).Unit(p.Unit).Targets(targets).Span(w).Height(h)
	case "table":
		return table.NewPanelBuilder().Id(id).Title(p.Title).Description(desc).Datasource(dsRef).Unit(p.Unit).Targets(targets).Span(w).Height(h)
	default:
		return timeseries.NewPanelBuilder().Id(id).Title(p.Title).Description(desc).Datasource(dsRef).Unit(p.Unit).Targets(targets).Span(w).Height(h).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
			Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	}
}

// Manifest is the permissions manifest: the folder and exactly the
// operator principals allowed in it. RemovedRoles are the organization-wide
// grants a push removes from the folder.
type Manifest struct {
	Format       string     `json:"format"`
	Folder       Folder     `json:"folder"`
	Dashboards   []string   `json:"dashboards"`
	Operators    []Operator `json:"operators"`
	RemovedRoles []string   `json:"removed_roles"`
	Note         string     `json:"note"`
}

// ManifestFormat is the format line of permissions.json.
const ManifestFormat = "crmwatch.grafana-permissions/v1"

// NewManifest lists the folder, dashboards and operator principals.
func NewManifest(ds []dashboards.Dashboard, a *Access) Manifest {
	m := Manifest{Format: ManifestFormat, Folder: a.Folder, Operators: append([]Operator(nil), a.Operators...),
		RemovedRoles: []string{"Viewer", "Editor"},
		Note: "Folder permissions are exactly these operators; organization-wide Viewer and Editor grants are removed. " +
			"A Grafana organization member who is not an operator could still query the data source: keep the organization to operators."}
	for _, d := range ds {
		m.Dashboards = append(m.Dashboards, d.UID)
	}
	return m
}

// Export writes DIR/dashboards/<uid>.json, DIR/provisioning/crmwatch.yaml
// (a Grafana dashboard provider reading provisionPath, default the
// absolute DIR/dashboards) and DIR/permissions.json. It returns the files
// written.
func Export(dir string, ds []dashboards.Dashboard, a *Access, provisionPath string) ([]string, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	var files []string
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		files = append(files, p)
		return os.WriteFile(p, data, 0o644)
	}
	for _, d := range ds {
		data, err := Dashboard(d)
		if err != nil {
			return nil, err
		}
		if err := write(filepath.Join("dashboards", d.UID+".json"), append(data, '\n')); err != nil {
			return nil, err
		}
	}
	if provisionPath == "" {
		abs, err := filepath.Abs(filepath.Join(dir, "dashboards"))
		if err != nil {
			return nil, err
		}
		provisionPath = abs
	}
	if err := write(filepath.Join("provisioning", "crmwatch.yaml"), Provisioning(a.Folder, provisionPath)); err != nil {
		return nil, err
	}
	m, err := json.MarshalIndent(NewManifest(ds, a), "", "  ")
	if err != nil {
		return nil, err
	}
	if err := write("permissions.json", append(m, '\n')); err != nil {
		return nil, err
	}
	return files, nil
}

// Provisioning is a Grafana dashboard-provider file: the dashboards in
// path, in the folder, not editable in the UI (the pack is the source).
func Provisioning(f Folder, path string) []byte {
	return fmt.Appendf(nil, `# Grafana dashboard provisioning written by crmwatch dashboards export.
# Copy to Grafana's provisioning/dashboards/. Folder permissions are not
# provisioned by Grafana: set the folder permissions of permissions.json.
apiVersion: 1
providers:
  - name: crmwatch
    orgId: 1
    folder: %q
    folderUid: %q
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 60
    options:
      path: %q
      foldersFromFilesStructure: false
`, f.Title, f.UID, path)
}
