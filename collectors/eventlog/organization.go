package eventlog

import (
	"regexp"
	"strings"
)

// orgFieldNames are data-field names that hold an organization (compared
// case-insensitively).
var orgFieldNames = []string{"organization", "organizationname", "orgname", "organizationuniquename"}

// orgInMessage finds an organization named in a message:
// "Organization: Contoso" / "OrganizationName=Contoso", and the
// organization database "<UniqueName>_MSCRM" (CRM names each
// organization's database so, e.g. "Database: Contoso_MSCRM" in the
// platform's slow-query warning). The configuration database MSCRM_CONFIG
// does not match.
var orgInMessage = regexp.MustCompile(`(?i)\borganization(?:\s*name)?\s*[:=]\s*'?([A-Za-z0-9_\-.]+)|\b([A-Za-z0-9][A-Za-z0-9_]*?)_MSCRM\b`)

// Organization returns the organization the data fields or the message
// name, or "".
func Organization(data []Datum, message string) string {
	for _, d := range data {
		for _, n := range orgFieldNames {
			if strings.EqualFold(d.Name, n) && strings.TrimSpace(d.Value) != "" {
				return strings.TrimSpace(d.Value)
			}
		}
	}
	m := orgInMessage.FindStringSubmatch(message)
	if m == nil {
		return ""
	}
	if m[1] != "" {
		return m[1]
	}
	return m[2]
}
