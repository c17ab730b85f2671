package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"crmwatch/dashboards"
	"crmwatch/dashboards/grafana"
	"crmwatch/packs"
	"crmwatch/packs/crm"
)

// newDashboardsCmd is crmwatch dashboards: the packs' dashboards for
// operators' Grafana.
func newDashboardsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Render the packs' dashboards for Grafana, for operators only",
	}
	cmd.AddCommand(newDashboardsExportCmd())
	return cmd
}

func newDashboardsExportCmd() *cobra.Command {
	var (
		packDirs, overrides []string
		out, access, path   string
	)
	cmd := &cobra.Command{
		Use:   "export --access FILE [--out DIR]",
		Short: "Write Grafana dashboard JSON, a provisioning file and the operators' permissions manifest",
		Long: "Write the dashboards of the built-in pack and --packs (after --overrides) as Grafana\n" +
			"dashboard JSON (DIR/dashboards/*.json, a Prometheus data-source variable, no data-source id),\n" +
			"a dashboard provider (DIR/provisioning/crmwatch.yaml) and DIR/permissions.json: the folder\n" +
			"and exactly the operator teams and users of --access (docs/dashboards.md, section 2).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if access == "" {
				return fmt.Errorf("--access FILE is required: the operator teams and users allowed to see the dashboards (docs/dashboards.md, section 2)")
			}
			a, err := grafana.LoadAccess(access)
			if err != nil {
				return err
			}
			p, err := crm.Load()
			if err != nil {
				return fmt.Errorf("built-in CRM pack: %w", err)
			}
			ps := []*packs.Pack{p}
			if len(packDirs) > 0 {
				more, err := packs.LoadDirs(packDirs)
				if err != nil {
					return err
				}
				ps = append(ps, more...)
			}
			ovs, err := packs.LoadOverridesFiles(overrides, ps)
			if err != nil {
				return err
			}
			ds, err := dashboards.Build(ps, ovs)
			if err != nil {
				return err
			}
			files, err := grafana.Export(out, ds, a, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d dashboards for %d operator principals written to %s (%d files)\n", len(ds), len(a.Operators), out, len(files))
			return nil
		},
	}
	cmd.Flags().StringVar(&access, "access", "", "operators' access file (format "+grafana.AccessFormat+")")
	cmd.Flags().StringVar(&out, "out", "grafana", "directory to write into")
	cmd.Flags().StringSliceVar(&packDirs, "packs", nil, "extra pack directories on top of the built-in pack (repeatable)")
	cmd.Flags().StringSliceVar(&overrides, "overrides", nil, "overrides files adding or hiding panels (repeatable)")
	cmd.Flags().StringVar(&path, "provision-path", "", "where Grafana will read the dashboard files (default: the absolute DIR/dashboards)")
	return cmd
}
