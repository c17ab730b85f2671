package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"crmwatch/access"
	"crmwatch/capacity/backfill"
	"crmwatch/server"
)

// TestDashboardsInChromium: a day of a simulated farm's counters, sampled
// every minute (capacity/backfill), is in the server's rollups; an operator
// signed in opens the dashboards list, then the per-server dashboard: every
// panel is drawn as an SVG chart with a line per host over the day, the
// host variable narrows it to one line, and the panels refresh in place
// without a reload. Panels over the agents' /metrics are marked not
// recorded; the overview's open alerts come from the server's own readings
// and say so. A signed-out browser is sent to the sign-in page.
func TestDashboardsInChromium(t *testing.T) {
	problems := &problemLog{}
	ctx := browser(t, problems)
	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATSListen: freeAddr(t), NATSSyncInterval: 100 * time.Millisecond})
	defer sp.stop()
	base := "http://" + sp.srv.HTTPAddr()
	res, err := backfill.Run(context.Background(), sp.srv.Store().(backfill.Store), backfill.Options{Span: 25 * time.Hour, Step: time.Minute,
		MinutesFor: 25 * time.Hour, Hosts: 2, Orgs: 2, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("back-filled %d samples of %d hosts from %s to %s", res.Samples, res.Hosts, res.From.Format(time.RFC3339), res.To.Format(time.RFC3339))

	for _, p := range []string{"/dashboards", "/dashboards/crm-server"} {
		do(t, ctx, 10*time.Second, "signed-out "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.ID("token")))
	}
	tok, err := access.CreateOperator(context.Background(), sp.srv.Store(), access.NewOperator{Name: "nina", Role: access.RoleReadonly, By: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	signInAs(t, ctx, base, tok.Reveal())
	do(t, ctx, 15*time.Second, "the dashboards list",
		chromedp.Click(chromedp.CSS(`nav a[href="/dashboards"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dashboard-list tr.dashboard-row a[href="/dashboards/crm-server"]`)))
	if n := get(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#dashboard-list tr.dashboard-row').length`)); n != 10 {
		t.Errorf("%d dashboards listed, want the built-in pack's 10", n)
	}
	do(t, ctx, 60*time.Second, "the per-server dashboard drawn",
		chromedp.Click(chromedp.CSS(`a[href="/dashboards/crm-server"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#panels[aria-busy="false"]`)),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))
	type panelState struct {
		Key, State string
		Lines      int
		Points     int
	}
	panels := get(t, ctx, "the panels", chromedp.Evaluate[[]panelState](`[...document.querySelectorAll('#panels section.panel')].map(s => ({
		key: s.dataset.key, state: s.dataset.state || '', lines: s.querySelectorAll('svg.chart path.line').length,
		points: Math.min(...[...s.querySelectorAll('svg.chart path.line')].map(p => (p.getAttribute('d').match(/[ML]/g) || []).length))}))`))
	if len(panels) != 8 {
		t.Fatalf("%d panels on the per-server dashboard, want 8: %+v", len(panels), panels)
	}
	for _, p := range panels {
		// The simulated farm has no network interface counters: that panel
		// says it has no samples rather than drawing anything. The last
		// minute or two of the day (after the back-fill's end) have none.
		if p.Key == "network-utilisation" {
			if p.State != "empty" {
				t.Errorf("panel %s: %s, want empty (the simulated farm has no such counter)", p.Key, p.State)
			}
			continue
		}
		if p.State != "drawn" || p.Lines < res.Hosts || p.Points < 24*60-5 {
			t.Errorf("panel %s: %s with %d lines of at least %d points; want a line per host (%d) with a point every minute of the day", p.Key, p.State, p.Lines, p.Points, res.Hosts)
		}
	}
	screenshot(t, ctx, "console-dashboard.png", 1300)

	choice := get(t, ctx, "a host", chromedp.Evaluate[string](`document.querySelectorAll('#dash-host option')[1].value`))
	do(t, ctx, 30*time.Second, "one host",
		chromedp.SetValue(chromedp.ID("dash-host"), choice),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('dash-host').dispatchEvent(new Event('change'))`))
	waitTrue(t, ctx, 30*time.Second, "only the host's lines", `[...document.querySelectorAll('#panels svg.chart path.line title')].every(x => x.textContent.startsWith(`+strconv.Quote(choice)+`))
		&& document.querySelectorAll('section.panel[data-key="processor-time"] svg.chart path.line').length === 1`)
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "host="+choice) {
		t.Errorf("the chosen host is not in the address: %s", loc)
	}

	do(t, ctx, 30*time.Second, "the agents dashboard", chromedp.Navigate(base+"/dashboards/crm-agents"),
		chromedp.WaitVisible(chromedp.CSS(`#panels[aria-busy="false"]`)))
	shipped := get(t, ctx, "not recorded", chromedp.Text(chromedp.CSS(`section.panel[data-key="shipped"]`)))
	if !strings.Contains(shipped, "Not recorded") || !strings.Contains(shipped, "crmwatch_transport_published_observations_total is a metric of the agent's own /metrics") {
		t.Errorf("the shipped panel (an agent metric): %q", shipped)
	}
	do(t, ctx, 30*time.Second, "the overview",
		chromedp.Navigate(base+"/dashboards/crm-overview?refresh=5"),
		chromedp.WaitVisible(chromedp.CSS(`#panels[aria-busy="false"]`)),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))
	open := get(t, ctx, "open alerts", chromedp.Text(chromedp.CSS(`section.panel[data-key="open-alerts"]`)))
	if !strings.Contains(open, "This server's own readings since") {
		t.Errorf("the open-alerts panel (a server metric, recorded in memory): %q", open)
	}
	if st := get(t, ctx, "cpu", chromedp.AttributeValue(chromedp.CSS(`section.panel[data-key="cpu"]`), "data-state")).Value; st != "drawn" {
		t.Errorf("the overview's CPU panel is %q", st)
	}
	waitTrue(t, ctx, 40*time.Second, "a refresh in place", `Number(document.body.dataset.refreshes) >= 3`)
	if !get(t, ctx, "no reload", chromedp.Evaluate[bool](`window.__sameDocument === true`)) {
		t.Error("the dashboard reloaded the page to refresh")
	}
	problems.check(t)
}

// waitTrue polls a JavaScript condition until it holds.
func waitTrue(t *testing.T, ctx context.Context, d time.Duration, what, js string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !get(t, ctx, what, chromedp.Evaluate[bool](js)) {
		if time.Now().After(deadline) {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("timed out after %s waiting for %s\n%.3000s", d, what, html)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
