package crm

import "testing"

func TestLoadBuiltin(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s: %d rules", p.Name, p.Version, len(p.Rules))
}
