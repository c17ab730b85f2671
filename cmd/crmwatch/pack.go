package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"crmwatch/packs"
)

// newPackCmd is crmwatch pack: the promtool of management packs.
func newPackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pack",
		Short: "Validate, test, show and export management packs",
		Long: "Work with management packs (directories with pack.yaml, rules/*.yaml …; see docs/packs.md).\n" +
			"The built-in Dynamics CRM pack is packs/crm in the source tree.",
	}
	cmd.AddCommand(newPackValidateCmd())
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
			fmt.Fprintf(out, "%s: pack %s %s is valid (%d rules)\n", p.Dir, p.Name, p.Version, len(p.Rules))
		}
		if len(problems) > 0 {
			fmt.Fprintf(errOut, "%d problem(s) found\n", len(problems))
		}
	}
	if len(problems) > 0 {
		return exitError{code: 1}
	}
	return nil
}
