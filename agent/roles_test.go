package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crmwatch/collectors"
	"crmwatch/collectors/tracefiles"
	"crmwatch/secret"
	"crmwatch/transport"
)

// TestRolesAuto: with --roles auto the agent reads the ServerRole header
// of the trace files it follows, keeps the roles listed besides auto, and
// its registration says how each role was found; a new role in a later
// trace file is picked up while it runs.
func TestRolesAuto(t *testing.T) {
	natsURL, js, names := startJetStream(t)
	dir := t.TempDir()
	header := func(name, roles string) {
		body := "# " + name + "\r\n# ComputerName: CRMAPP01\r\n# ServerRole: " + roles + "\r\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	header("CRMAPP01-w3wp(1#A)-CRMWeb-20261121-1.log", "AppServer, SdkServer")
	a, err := New(Options{NATS: secret.MustURL(natsURL), Name: "CRMAPP01", Roles: []string{"auto", "SqlServer"},
		Set: TraceDirOverrides(dir), StateDir: t.TempDir(), HeartbeatEvery: 100 * time.Millisecond,
		RediscoverEvery: 100 * time.Millisecond, Factories: []collectors.Factory{tracefiles.NewFactory()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	kv, err := js.KeyValue(ctx, names.AgentsBucket())
	if err != nil {
		t.Fatal(err)
	}
	reg := func() transport.Registration {
		var r transport.Registration
		if e, err := kv.Get(ctx, "CRMAPP01"); err == nil {
			_ = json.Unmarshal(e.Value(), &r)
		}
		return r
	}
	waitFor(t, "roles from the trace header", func() bool {
		return slices.Equal(reg().Roles, []string{"SqlServer", "AppServer", "SdkServer"})
	})
	r := reg()
	want := []transport.RoleFinding{
		{Role: "SqlServer", How: "configured (--roles)"},
		{Role: "AppServer", How: "trace header ServerRole of CRMAPP01-w3wp(1#A)-CRMWeb-20261121-1.log"},
		{Role: "SdkServer", How: "trace header ServerRole of CRMAPP01-w3wp(1#A)-CRMWeb-20261121-1.log"},
	}
	if !slices.Equal(r.RoleFindings, want) {
		t.Errorf("role findings = %+v, want %+v", r.RoleFindings, want)
	}
	header("CRMAPP01-w3wp(2#B)-Help-20261121-1.log", "HelpServer")
	waitFor(t, "the role of a new trace file", func() bool { return slices.Contains(reg().Roles, "HelpServer") })
}

func TestRolesAutoFindsNothing(t *testing.T) {
	a, err := New(Options{Name: "h", Roles: []string{"auto"}, Set: TraceDirOverrides(t.TempDir()), StateDir: t.TempDir(),
		Factories: []collectors.Factory{tracefiles.NewFactory()}})
	if err != nil {
		t.Fatal(err)
	}
	res := a.discover(context.Background(), a.currentConfigs())
	if len(res.Findings) != 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "--roles auto found no CRM role") {
		t.Errorf("discovery = %+v, want a note that says what to do", res)
	}
}
