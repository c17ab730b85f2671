package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"crmwatch/dashboards"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/packs/packtest"
	"crmwatch/packs/promexport"
)

// newPackCmd is crmwatch pack: the promtool of management packs.
func newPackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pack",
		Short: "Validate, test, show and export management packs",
		Long: "Work with management packs (directories with pack.yaml, rules/*.yaml …; see docs/packs.md).\n" +
			"The built-in Dynamics CRM pack is packs/crm in the source tree.",
	}
	cmd.AddCommand(newPackValidateCmd(), newPackTestCmd(), newPackShowCmd(), newPackExportPrometheusCmd(), newPackReloadCmd())
	return cmd
}

func newPackValidateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate DIR...",
		Short: "Check packs and report every problem with file and line",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := packs.LoadDirs(args)
			if err == nil {
				// Dashboard queries are checked against the metrics the
				// agent and server expose; a pack with bad ones is not valid.
				if _, err = dashboards.Build(ps, nil); err != nil {
					ps = nil
				}
			}
			return reportValidation(cmd.OutOrStdout(), cmd.ErrOrStderr(), ps, err, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// reportValidation prints the outcome of loading packs; problems end the
// process with exit status 1 after they were printed.
func reportValidation(out, errOut io.Writer, ps []*packs.Pack, err error, asJSON bool) error {
	var problems packs.Problems
	if err != nil && !errors.As(err, &problems) {
		return err
	}
	if asJSON {
		type packInfo struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Dir     string `json:"dir"`
			Rules   int    `json:"rules"`
		}
		res := struct {
			Valid    bool           `json:"valid"`
			Packs    []packInfo     `json:"packs"`
			Problems packs.Problems `json:"problems"`
		}{Valid: len(problems) == 0, Packs: []packInfo{}, Problems: problems}
		for _, p := range ps {
			res.Packs = append(res.Packs, packInfo{p.Name, p.Version.String(), p.Dir, len(p.Rules)})
		}
		if res.Problems == nil {
			res.Problems = packs.Problems{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(errOut, p.String())
		}
		for _, p := range ps {
			fmt.Fprintf(out, "%s: pack %s %s is valid (%s)\n", p.Dir, p.Name, p.Version, count(len(p.Rules), "rule"))
		}
		if len(problems) > 0 {
			fmt.Fprintf(errOut, "%s found\n", count(len(problems), "problem"))
		}
	}
	if len(problems) > 0 {
		return exitError{code: 1}
	}
	return nil
}

func newPackTestCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test FILE...",
		Short: "Run pack unit tests (inputs at relative times, expected alerts)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var all []packtest.Result
			failed := 0
			for _, f := range args {
				abs, err := filepath.Abs(f)
				if err != nil {
					return err
				}
				// The test file names its packs relative to itself, so
				// open the file system two levels up.
				root := filepath.Dir(filepath.Dir(filepath.Dir(abs)))
				rel, err := filepath.Rel(root, abs)
				if err != nil {
					return err
				}
				res, err := packtest.RunFile(cmd.Context(), os.DirFS(root), filepath.ToSlash(rel))
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				for _, r := range res {
					r.File = f
					all = append(all, r)
					if !r.Passed() {
						failed++
					}
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"passed": failed == 0, "results": all}); err != nil {
					return err
				}
			} else {
				for _, r := range all {
					if r.Passed() {
						continue
					}
					fmt.Fprintf(out, "FAILED %s: %s\n", r.File, r.Name)
					for _, f := range r.Failures {
						fmt.Fprintf(out, "  %s\n", f)
					}
				}
				fmt.Fprintf(out, "%s, %d failed\n", count(len(all), "test"), failed)
			}
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

func newPackShowCmd() *cobra.Command {
	var (
		host, role string
		overrides  []string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "show DIR",
		Short: "Print the effective rules of a pack after overrides",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := packs.LoadDir(args[0])
			if err != nil {
				return err
			}
			ovs, err := packs.LoadOverridesFiles(overrides, []*packs.Pack{p})
			if err != nil {
				return err
			}
			t := packs.Target{Host: host}
			if role != "" {
				t.Roles = strings.Split(role, ",")
			}
			rs, err := packs.Effective(p, ovs, t)
			if err != nil {
				return err
			}
			shown := packs.Show(rs)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"rules": shown})
			}
			return packs.WriteTable(cmd.OutOrStdout(), shown)
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "resolve host and group overrides for this host")
	cmd.Flags().StringVar(&role, "role", "", "CRM roles of the host (comma-separated) for role overrides")
	cmd.Flags().StringSliceVar(&overrides, "overrides", nil, "overrides files (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON {\"rules\":[…]}")
	return cmd
}

func newPackExportPrometheusCmd() *cobra.Command {
	var (
		overrides []string
		out       string
		opts      promexport.Options
	)
	cmd := &cobra.Command{
		Use:   "export-prometheus DIR",
		Short: "Write a pack's threshold and trend rules as a Prometheus rule file",
		Long: "Write the threshold and trend rules of the pack in DIR (" + crm.Dir + " for the built-in pack),\n" +
			"after parameters and untargeted overrides, as Prometheus alerting rules over\n" +
			packs.CounterMetric + ". Other rules are listed in a comment at the top. Check the\n" +
			"result with promtool check rules FILE (see docs/packs.md, section 6).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPackArg(args[0])
			if err != nil {
				return err
			}
			if opts.Overrides, err = packs.LoadOverridesFiles(overrides, []*packs.Pack{p}); err != nil {
				return err
			}
			data, err := promexport.Export([]*packs.Pack{p}, opts)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return fmt.Errorf("write rule file: %w (check that the directory of --out exists and is writable)", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&overrides, "overrides", nil, "overrides files (repeatable); only untargeted entries apply, as on the server")
	cmd.Flags().StringVar(&out, "out", "", "write the rule file here instead of standard output")
	cmd.Flags().DurationVar(&opts.SampleInterval, "sample-interval", packs.DefaultSampleInterval, "counter sample interval for counters no collect: entry names")
	cmd.Flags().DurationVar(&opts.EvalInterval, "eval-interval", 0, "rule group evaluation interval (default: the sample interval)")
	return cmd
}

// loadPackArg loads the pack a command names: a directory, or the built-in
// pack by its label.
func loadPackArg(arg string) (*packs.Pack, error) {
	if arg == crm.Dir {
		return crm.Load()
	}
	return packs.LoadDir(arg)
}
