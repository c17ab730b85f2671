package discovery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crmwatch/event"
	"crmwatch/simulate"
)

// fakeProbe is a Windows host with the given keys, services and pools.
type fakeProbe struct {
	keys, services, pools []string
	fail                  error
}

func (f fakeProbe) KeyExists(_ context.Context, p string) (bool, error) {
	return slices.Contains(f.keys, p), nil
}
func (f fakeProbe) ServiceInstalled(_ context.Context, n string) (bool, error) {
	if f.fail != nil && n == "MSCRMEmail" {
		return false, f.fail
	}
	return slices.Contains(f.services, n), nil
}
func (f fakeProbe) AppPools(context.Context) ([]string, error) { return f.pools, nil }

func findings(r Result) []string {
	out := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		out[i] = string(f.Role) + " <- " + f.How
	}
	return out
}

func TestWindowsProbe(t *testing.T) {
	p := fakeProbe{
		keys:     []string{crmKey},
		services: []string{"MSCRMAsyncService", "MSCRMSandboxService"},
		pools:    []string{"DefaultAppPool", "CRMAppPool"},
		fail:     errors.New("access denied"),
	}
	res := Discover(context.Background(), Options{Auto: true, Probe: p, Configured: []event.Role{event.RoleSqlServer}})
	got := findings(res)
	want := []string{
		"SqlServer <- configured (--roles)",
		"AsyncService <- service MSCRMAsyncService",
		"SandboxService <- service MSCRMSandboxService",
		`AppServer <- IIS application pool CRMAppPool (HKLM\SOFTWARE\Microsoft\MSCRM present)`,
		`SdkServer <- IIS application pool CRMAppPool (HKLM\SOFTWARE\Microsoft\MSCRM present)`,
		`DiscoveryService <- IIS application pool CRMAppPool (HKLM\SOFTWARE\Microsoft\MSCRM present)`,
		`HelpServer <- IIS application pool CRMAppPool (HKLM\SOFTWARE\Microsoft\MSCRM present)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got  %q\n want %q", got, want)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "service MSCRMEmail: access denied") {
		t.Errorf("a failing probe must become a note: %q", res.Notes)
	}
	// Without the CRM key an IIS pool named CRMAppPool proves nothing.
	res = Discover(context.Background(), Options{Auto: true, Probe: fakeProbe{pools: []string{"CRMAppPool"}, keys: []string{reportingKey}}})
	if got := findings(res); !slices.Equal(got, []string{`ReportingServer <- registry HKLM\SOFTWARE\Microsoft\MSCRMBidsExtensions`}) {
		t.Errorf("findings without the CRM key: %q", got)
	}
}

// TestTraceHeaders discovers the roles of simulated hosts from the trace
// files they write, as an agent with --roles auto does.
func TestTraceHeaders(t *testing.T) {
	out := t.TempDir()
	farm, err := simulate.New(simulate.Options{Out: out, Hosts: 2, Seed: 3, Start: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := farm.Generate(20); err != nil {
		t.Fatal(err)
	}
	if err := farm.Close(); err != nil {
		t.Fatal(err)
	}
	for _, h := range farm.Hosts() {
		res := Discover(context.Background(), Options{Auto: true, TraceDirs: []string{h.TraceDir}})
		if !slices.Equal(res.Roles(), h.Roles) {
			t.Errorf("%s: discovered %v, want %v (%q)", h.Name, res.Roles(), h.Roles, res.Notes)
		}
		for _, f := range res.Findings {
			if !strings.HasPrefix(f.How, "trace header ServerRole of "+h.Name) {
				t.Errorf("%s: how = %q", h.Name, f.How)
			}
		}
	}
	// Without auto only the configured roles count.
	res := Discover(context.Background(), Options{TraceDirs: []string{farm.Hosts()[0].TraceDir}, Configured: []event.Role{event.RoleSqlServer}})
	if got := findings(res); !slices.Equal(got, []string{"SqlServer <- configured (--roles)"}) {
		t.Errorf("without auto: %q", got)
	}
}

func TestTraceHeaderProblems(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.log"), []byte("# a.log\r\n# ServerRole: AppServer, Portal, WebService\r\n[2026-11-21 10:00:00.000] x\r\n"), 0o644) //nolint:errcheck
	res := Discover(context.Background(), Options{Auto: true, TraceDirs: []string{dir, filepath.Join(dir, "missing")}})
	if got := res.Roles(); !slices.Equal(got, []event.Role{event.RoleAppServer, event.RoleSdkServer}) {
		t.Errorf("roles = %v", got)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{`"Portal" is not a CRM role`, "missing"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	// Nothing found: the note says what to do.
	res = Discover(context.Background(), Options{Auto: true, TraceDirs: []string{t.TempDir()}})
	if len(res.Findings) != 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "list the roles") {
		t.Errorf("empty discovery: %+v", res)
	}
}

func TestParseAppPools(t *testing.T) {
	cfg := `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <applicationPools>
      <add name="DefaultAppPool" />
      <add name="CRMAppPool" managedRuntimeVersion="v4.0"><processModel identityType="NetworkService" /></add>
      <add name="CRMDeploymentServiceAppPool" />
      <applicationPoolDefaults><processModel identityType="ApplicationPoolIdentity" /></applicationPoolDefaults>
    </applicationPools>
  </system.applicationHost>
</configuration>`
	got, err := parseAppPools(strings.NewReader(cfg))
	if err != nil || !slices.Equal(got, []string{"DefaultAppPool", "CRMAppPool", "CRMDeploymentServiceAppPool"}) {
		t.Errorf("parseAppPools = %q, %v", got, err)
	}
	if _, err := parseAppPools(strings.NewReader("<configuration><system.applicationHost>")); err == nil {
		t.Error("a truncated file must be an error")
	}
}

func FuzzParseAppPools(f *testing.F) {
	f.Add(`<configuration><system.applicationHost><applicationPools><add name="CRMAppPool"/></applicationPools></system.applicationHost></configuration>`)
	f.Add("<")
	f.Fuzz(func(t *testing.T, s string) {
		pools, err := parseAppPools(strings.NewReader(s))
		if err == nil {
			for _, p := range pools {
				if p == "" {
					t.Fatal("empty pool name returned")
				}
			}
		}
	})
}
