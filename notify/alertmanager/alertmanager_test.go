package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/notify/alertmanager/amtest"
	"crmwatch/secret"
)

// amAlert is what `amtool alert query -o json` prints per alert.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// query reads the active alerts back with amtool.
func query(t testing.TB, in *amtest.Instance) []amAlert {
	t.Helper()
	out, err := exec.Command("amtool", "--alertmanager.url="+in.URL, "alert", "query", "-o", "json").Output()
	if err != nil {
		t.Fatalf("amtool: %v", err)
	}
	var as []amAlert
	if err := json.Unmarshal(out, &as); err != nil {
		t.Fatalf("amtool output %s: %v", out, err)
	}
	return as
}

func notification(st notify.Status, sev alerts.Severity) notify.Notification {
	now := time.Now().UTC()
	a := alerts.Alert{ID: "01HXALERT", Rule: "crm.trace.sql-error", Severity: sev, State: alerts.StateNew, FirstSeen: now.Add(-time.Minute),
		Hosts: []string{"CRMAPP02", "CRMAPP01"}, Organizations: []string{"guid-1"}, Summary: "SQL errors on CRMAPP01",
		Knowledge: alerts.Knowledge{Cause: "SQL timeouts", Resolution: "check the SQL server"}, Version: 1}
	if st == notify.StatusResolved {
		a.State = alerts.StateResolved
		a.ResolvedAt = &now
	}
	return notify.Notification{ID: "crmwatch-change-1", Seq: 1, Kind: alerts.ChangeRaised, Status: st, Alert: a, At: now,
		OrganizationNames: []string{"Contoso"}, Roles: []string{"AppServer"}, ConsoleURL: "https://crmwatch.example/alerts/01HXALERT"}
}

// Firing here is firing there with the labels and annotations operators
// use; a severity change ends the old one; resolved here is resolved there.
func TestAlertmanagerRoundTrip(t *testing.T) {
	am := amtest.Start(t)
	r := New("am", Config{URL: secret.MustURL(am.URL)})
	ctx := context.Background()
	if retry, err := r.Notify(ctx, []notify.Notification{notification(notify.StatusFiring, alerts.SeverityError)}); err != nil {
		t.Fatal(retry, err)
	}
	as := query(t, am)
	if len(as) != 1 {
		t.Fatalf("alerts %+v", as)
	}
	want := map[string]string{"alertname": "crm.trace.sql-error", "rule": "crm.trace.sql-error", "severity": "error", "host": "CRMAPP01,CRMAPP02",
		"role": "AppServer", "organization": "Contoso", "organization_id": "guid-1", "alert_id": "01HXALERT"}
	for k, v := range want {
		if as[0].Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, as[0].Labels[k], v)
		}
	}
	for k, v := range map[string]string{"summary": "SQL errors on CRMAPP01", "cause": "SQL timeouts", "resolution": "check the SQL server",
		"console": "https://crmwatch.example/alerts/01HXALERT"} {
		if as[0].Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, as[0].Annotations[k], v)
		}
	}
	if as[0].Status.State != "active" || time.Until(as[0].EndsAt) < 24*time.Hour {
		t.Errorf("state %s ends %s: want active until the firing TTL", as[0].Status.State, as[0].EndsAt)
	}
	up := notification(notify.StatusFiring, alerts.SeverityCritical)
	up.PreviousSeverity = alerts.SeverityError
	if _, err := r.Notify(ctx, []notify.Notification{up}); err != nil {
		t.Fatal(err)
	}
	if as := query(t, am); len(as) != 1 || as[0].Labels["severity"] != "critical" {
		t.Fatalf("after the severity change: %+v", as)
	}
	down := notification(notify.StatusResolved, alerts.SeverityCritical)
	if _, err := r.Notify(ctx, []notify.Notification{down}); err != nil {
		t.Fatal(err)
	}
	if as := query(t, am); len(as) != 0 {
		t.Fatalf("resolved here, still active there: %+v", as)
	}
}

// Refusals: Alertmanager's 400 is final, a dead one is retried; errors
// never carry the password or URL credentials.
func TestAlertmanagerFailures(t *testing.T) {
	am := amtest.Start(t)
	const pw = "am-pw-8841"
	r := New("am", Config{URL: secret.MustURL(am.URL), Username: "crm", Password: secret.New(pw)})
	bad := notification(notify.StatusResolved, alerts.SeverityError)
	bad.Alert.FirstSeen, bad.Alert.ResolvedAt = time.Now().Add(time.Hour), nil // ends before it starts: Alertmanager refuses it
	retry, err := r.Notify(context.Background(), []notify.Notification{bad})
	if err == nil || retry || !strings.Contains(err.Error(), "400") {
		t.Fatalf("refused alert: retry %v err %v", retry, err)
	}
	dead := New("am", Config{URL: secret.MustURL(fmt.Sprintf("http://crm:%s@%s", pw, strings.TrimPrefix(am.URL, "http://"))), Timeout: time.Second})
	am.Stop()
	retry, err = dead.Notify(context.Background(), []notify.Notification{notification(notify.StatusFiring, alerts.SeverityError)})
	if err == nil || !retry || strings.Contains(err.Error(), pw) {
		t.Fatalf("dead alertmanager: retry %v err %v", retry, err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{URL: secret.MustURL("ftp://u:pw-77@x"), Password: secret.New("pw-77"), Timeout: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "url") || !strings.Contains(err.Error(), "username") || !strings.Contains(err.Error(), "negative") || strings.Contains(err.Error(), "pw-77") {
		t.Fatalf("got %v", err)
	}
}
