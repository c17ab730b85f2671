package report_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"crmwatch/capacity/report"
)

// The HTML report rendered by headless Chromium (Debian's chromium, which
// scripts/setup.sh installs): the charts draw, nothing is fetched, and the
// screenshot in docs/ (shown in the README) is kept up to date with
// CRMWATCH_SCREENSHOTS=1.
func TestHTMLReportInChromium(t *testing.T) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required under CI (scripts/setup.sh installs it)")
		}
		t.Skip("no chromium here: run scripts/setup.sh")
	}
	r, _ := build(t)
	var page bytes.Buffer
	if err := report.Write(&page, r, report.FormatHTML); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "capacity.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".chart svg polyline").length`))
	if err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Math.round(document.querySelector(".chart svg").getBoundingClientRect().width)`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
	if err != nil {
		t.Fatal(err)
	}
	if title == "" || charts < 4 || width < 400 || len(shot) < 10_000 {
		t.Fatalf("rendered: title %q, %d chart lines, chart width %d px, screenshot %d bytes", title, charts, width, len(shot))
	}
	if os.Getenv("CRMWATCH_SCREENSHOTS") == "1" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "capacity-report.jpg"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
