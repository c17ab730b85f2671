package report_test

import "os"

func mkdirTemp() (string, error) { return os.MkdirTemp("", "crmwatch-report-test-") }
