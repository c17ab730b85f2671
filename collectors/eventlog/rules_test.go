package eventlog_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"testing"

	"crmwatch/alerts"
	"crmwatch/collectors/eventlog"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// TestBuiltinPackRulesFire decodes the rendered-XML samples, maps them onto
// events and runs them through the rules engine with the built-in pack, as
// the server does: the pack's event-log rules fire on them, with the
// organization and the captures of the message where the rules use them.
func TestBuiltinPackRulesFire(t *testing.T) {
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := packs.FarmRules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var opened []alerts.Alert
	eng := rules.NewEngine(rules.Options{Logger: slog.New(slog.DiscardHandler), Sender: alerts.SenderFunc(func(_ context.Context, cs []alerts.Change) error {
		for _, c := range cs {
			if c.Kind == alerts.ChangeRaised {
				opened = append(opened, c.Alert)
			}
		}
		return nil
	})})
	if err := eng.Load(rs); err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	for _, f := range []string{"testdata/xml/wevtutil-crm.xml", "testdata/xml/eventviewer-rendered.xml"} {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		d := eventlog.NewXMLDecoder(fh)
		for {
			r, err := d.Next()
			if err != nil {
				break
			}
			evs = append(evs, r.Event("agent"))
		}
		fh.Close()
	}
	hosts := map[string][]string{
		"CRMAPP01.contoso.local":   {"AppServer"},
		"CRMASYNC01.contoso.local": {"AsyncService"},
		"CRMMAIL01":                {"EmailRouter"},
		"TestComputer":             {"AppServer"},
	}
	for h, roles := range hosts {
		if err := eng.Heartbeat(context.Background(), h, roles, evs[0].Time.Add(-1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.ProcessEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	got := map[string]alerts.Alert{}
	for _, a := range opened {
		got[a.Rule] = a
	}
	for _, want := range []string{
		"crm.eventlog.sandbox-listener-address-in-use", // MSCRMSandboxClient 20242
		"crm.eventlog.sandboxclient-error",
		"crm.eventlog.platform-async-maintenance-failed", // MSCRMPlatform 17424
		"crm.eventlog.platform-error",
		"crm.eventlog.emaillog-error", // MSCRMEmailLog, EmailRouter role
		"crm.eventlog.platform-slow-query",
		"crm.eventlog.platform-warning",
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("rule %s did not fire; opened: %v", want, keys(got))
		}
	}
	if a := got["crm.eventlog.platform-async-maintenance-failed"]; !slices.Contains(a.Organizations, "Contoso") {
		t.Errorf("async maintenance alert organizations %v, want Contoso", a.Organizations)
	}
	if a := got["crm.eventlog.platform-slow-query"]; a.Fields["database"] != "Contoso_MSCRM" {
		t.Errorf("slow-query alert fields %v, want database Contoso_MSCRM", a.Fields)
	}
}

func keys(m map[string]alerts.Alert) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
