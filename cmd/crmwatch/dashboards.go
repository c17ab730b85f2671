package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/certs"
	"crmwatch/dashboards"
	"crmwatch/dashboards/grafana"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/secret"
)

// newDashboardsCmd is crmwatch dashboards: the packs' dashboards for
// operators' Grafana.
func newDashboardsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Render the packs' dashboards for Grafana, for operators only",
	}
	cmd.AddCommand(newDashboardsExportCmd(), newDashboardsPushCmd())
	return cmd
}

// loadDashboards builds the dashboards of the built-in pack and packDirs
// after the overrides files.
func loadDashboards(packDirs, overrides []string) ([]dashboards.Dashboard, error) {
	p, err := crm.Load()
	if err != nil {
		return nil, fmt.Errorf("built-in CRM pack: %w", err)
	}
	ps := []*packs.Pack{p}
	if len(packDirs) > 0 {
		more, err := packs.LoadDirs(packDirs)
		if err != nil {
			return nil, err
		}
		ps = append(ps, more...)
	}
	ovs, err := packs.LoadOverridesFiles(overrides, ps)
	if err != nil {
		return nil, err
	}
	return dashboards.Build(ps, ovs)
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
			ds, err := loadDashboards(packDirs, overrides)
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

func newDashboardsPushCmd() *cobra.Command {
	var (
		packDirs, overrides []string
		access, gURL, ca    string
		token               secret.Value
		dry, insecure       bool
		timeout             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "push --grafana URL --access FILE [--dry-run]",
		Short: "Create or update the dashboards in a Grafana folder readable by exactly the operators",
		Long: "Create or update the crmwatch folder of --access and the dashboards of the built-in pack and\n" +
			"--packs (after --overrides) in Grafana, and set the folder's permissions to exactly the\n" +
			"operator teams and users of --access (organization-wide Viewer and Editor grants removed).\n" +
			"A second run changes nothing. Refuses, changing nothing, when the Grafana organization has\n" +
			"members who are neither a declared user nor in a declared team: any member of an\n" +
			"organization can query its data sources. The token is a service-account token with the\n" +
			"organization Admin role, from --grafana-token or $" + grafana.EnvToken + " (docs/dashboards.md, section 3).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if access == "" {
				return fmt.Errorf("--access FILE is required: the operator teams and users allowed to see the dashboards (docs/dashboards.md, section 2)")
			}
			a, err := grafana.LoadAccess(access)
			if err != nil {
				return err
			}
			if token.IsZero() {
				token = secret.New(strings.TrimSpace(os.Getenv(grafana.EnvToken)))
			}
			// Not certs.ClientConfig: $CRMWATCH_CA is the crmwatch server's CA.
			var tlsCfg *tls.Config
			if ca != "" {
				pool, err := certs.CAPool(ca)
				if err != nil {
					return err
				}
				tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
			}
			if insecure {
				tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} //nolint:gosec // asked for, and warned about
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: --insecure-skip-verify: Grafana's TLS certificate is NOT checked; anyone between you and Grafana can read the token. Use --ca FILE instead.")
			}
			c, err := grafana.NewClient(grafana.ClientOptions{URL: gURL, Token: token, TLS: tlsCfg, Timeout: timeout})
			if err != nil {
				return err
			}
			ds, err := loadDashboards(packDirs, overrides)
			if err != nil {
				return err
			}
			r, err := grafana.Push(cmd.Context(), c, ds, a, grafana.PushOptions{DryRun: dry})
			if err != nil {
				return err
			}
			r.Print(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&gURL, "grafana", "", "Grafana's URL, e.g. https://grafana.example.com")
	cmd.Flags().Var(&token, "grafana-token", "Grafana service-account token with the organization Admin role (or $"+grafana.EnvToken+")")
	cmd.Flags().StringVar(&access, "access", "", "operators' access file (format "+grafana.AccessFormat+")")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print what would change in Grafana and change nothing")
	cmd.Flags().StringSliceVar(&packDirs, "packs", nil, "extra pack directories on top of the built-in pack (repeatable)")
	cmd.Flags().StringSliceVar(&overrides, "overrides", nil, "overrides files adding or hiding panels (repeatable)")
	cmd.Flags().StringVar(&ca, "ca", "", "CA file Grafana's HTTPS certificate must chain to (default: the system roots)")
	cmd.Flags().BoolVar(&insecure, "insecure-skip-verify", false, "do not check Grafana's HTTPS certificate (unsafe: warns; use --ca instead)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "limit of each request to Grafana")
	return cmd
}
