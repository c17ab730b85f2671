package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Issue 17 item 9: pflag takes a back-quoted word in a flag's usage as the
// value name ("--token crmwatch operators add"). No flag of any command
// may have one, and the help shows sensible value names.
func TestNoBackQuotesInFlagUsage(t *testing.T) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if strings.Contains(f.Usage, "`") {
					t.Errorf("%s --%s: back-quote in usage %q", c.CommandPath(), f.Name, f.Usage)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	r := runRoot(t, "alerts", "--help")
	if r.code != 0 || !regexp.MustCompile(`--token secret\s+operator token \(or \$CRMWATCH_TOKEN\); an admin issues one with crmwatch operators add`).MatchString(r.stdout) {
		t.Errorf("alerts --help:\n%s", r.stdout)
	}
}

// Issue 17 item 9: counts agree with their nouns, no word is doubled in
// messages, and pack show names where a severity comes from.
func TestOutputText(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	pack := "format: crmwatch.pack/v1\nname: one\nversion: 1.0.0\ndescription: One rule.\nroles: [AppServer]\n"
	rule := "rules:\n  - id: one.error\n    kind: event\n    summary: 'Error on {{.Host}}'\n    knowledge: {cause: c., resolution: r.}\n    event: {sources: [MSCRMPlatform], min_level: error}\n"
	for name, data := range map[string]string{"pack.yaml": pack, "rules/main.yaml": rule} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r := runRoot(t, "pack", "validate", dir); r.code != 0 || r.stdout != dir+": pack one 1.0.0 is valid (1 rule)\n" {
		t.Errorf("pack validate: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r := runRoot(t, "pack", "show", dir)
	if r.code != 0 || !regexp.MustCompile(`one.error\s+event\s+by level\s+true`).MatchString(r.stdout) {
		t.Errorf("pack show of an event rule without severity:\n%s", r.stdout)
	}
	r = runRoot(t, "pack", "show", "../../packs/crm")
	for _, re := range []string{`crm.eventlog.platform-error\s+event\s+by level\s`, `crm.trace.disk-free-percent\s+threshold\s+by threshold\s`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("pack show packs/crm lacks %s", re)
		}
	}
	if r := runRoot(t, "trace", "tail", "/does/not/exist"); r.code != 1 || strings.Count(r.stderr, "trace tail") != 1 {
		t.Errorf("trace tail error says trace tail once: exit %d %q", r.code, r.stderr)
	}
	if r := runRoot(t, "--log-level", "loud", "trace", "parse", "-"); r.code != 1 || r.stderr != "crmwatch: --log-level \"loud\": want debug, info, warn or error\n" {
		t.Errorf("bad --log-level: exit %d %q", r.code, r.stderr)
	}
}

// Issue 17 item 9: make demo passes ARGS to the demo, as the README says.
func TestMakeDemoPassesArgs(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	out, err := exec.Command("make", "-s", "-n", "-C", "../..", "demo", "ARGS=--duration 60s").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "go run ./cmd/crmwatch demo --duration 60s") {
		t.Errorf("make -n demo ARGS=…: %v\n%s", err, out)
	}
}

// Issue 17 item 9: without a crmwatch binary on PATH, the demo banner
// tells the operator in the checkout to use go run ./cmd/crmwatch.
func TestDemoBannerWithoutBinaryOnPath(t *testing.T) {
	t.Chdir("../..")
	t.Setenv("PATH", t.TempDir())
	r := runRoot(t, "demo", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0",
		"--duration", "1s", "--fault", "none")
	if r.code != 0 || !strings.Contains(r.stdout, "\n  go run ./cmd/crmwatch alerts list\n") || strings.Contains(r.stdout, "\n  crmwatch alerts list") {
		t.Errorf("demo banner (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// A mistyped flag anywhere in the tree names the command whose --help
// lists the right ones.
func TestUnknownFlagSaysWhereFlagsAre(t *testing.T) {
	for _, args := range [][]string{{"alerts", "list", "--stat", "open"}, {"agent", "--rols", "AppServer"}} {
		r := runRoot(t, args...)
		want := "crmwatch " + args[0]
		if args[0] == "alerts" {
			want += " list"
		}
		if r.code == 0 || !strings.Contains(r.stderr, "unknown flag: "+args[len(args)-2]) || !strings.Contains(r.stderr, want+" --help lists its flags") {
			t.Errorf("crmwatch %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}
