package history_test

import (
	"os"
	"testing"
)

var farmDir string

func osMkdirTemp() (string, error) {
	var err error
	farmDir, err = os.MkdirTemp("", "crmwatch-history-")
	return farmDir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if farmSt != nil {
		farmSt.Close()
	}
	if farmDir != "" {
		os.RemoveAll(farmDir)
	}
	os.Exit(code)
}
