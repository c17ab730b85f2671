package query

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"crmwatch/tracing"
)

func TestFilterCompileReportsEveryProblem(t *testing.T) {
	_, err := Filter{Level: "loud", Since: "yesterday-ish", Until: "nope", Text: "("}.Compile(time.Now(), nil)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"--level", "--since", "--until", "--text"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	rec := tracing.Record{Time: time.Date(2015, 12, 8, 9, 30, 0, 0, time.UTC), Process: "w3wp", Level: "Warning",
		Category: "Platform.Sql", Organization: "11A5ABBD-36aa-de11-8729-00155d00050c", ReqID: "r-1",
		Operation: "QueryExecution.Execute", Message: "Query execution time of 119.1 seconds exceeded"}
	now := time.Date(2015, 12, 8, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"no filter", nil, true},
		{"level at least warning", []string{"--level", "warning"}, true},
		{"level at least info", []string{"--level", "info"}, true},
		{"level error only", []string{"--level", "error"}, false},
		{"category exact case-insensitive", []string{"--category", "platform.sql"}, true},
		{"category family", []string{"--category", "Platform.*"}, true},
		{"category other family", []string{"--category", "Plat.*,Application"}, false},
		{"org any of", []string{"--org", "x,11a5abbd-36aa-de11-8729-00155d00050c"}, true},
		{"reqid", []string{"--reqid", "r-2"}, false},
		{"process", []string{"--process", "W3WP"}, true},
		{"since inside", []string{"--since", "2015-12-08 09:00"}, true},
		{"since duration", []string{"--since", "10m"}, false},
		{"until is exclusive", []string{"--until", "2015-12-08 09:30:00"}, false},
		{"text in message", []string{"--text", `exceeded$`}, true},
		{"text in operation", []string{"--text", `^QueryExecution\.`}, true},
		{"text absent", []string{"--text", "deadlock"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			f.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			m, err := f.Compile(now, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(&rec); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
