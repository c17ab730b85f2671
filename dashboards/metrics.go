package dashboards

import "crmwatch/packs"

// Source says which process exposes a metric and what it means; the
// dashboards' queries may use only these names (a live test scrapes an
// agent and a server and checks each name is where it says).
type Source struct {
	Process string // "agent" or "server"
	Help    string
}

// Exposed lists the metrics dashboards may query. There is no spool
// metric (the agent has no disk spool), so no panel shows one.
var Exposed = map[string]Source{
	// agent
	packs.CounterMetric:                                  {"agent", "performance counter values (labels host, object, counter, counter_instance)"},
	"crmwatch_perfcounters_samples_total":                {"agent", "counter samples read"},
	"crmwatch_perfcounters_read_errors_total":            {"agent", "counter reads that failed"},
	"crmwatch_perfcounters_read_duration_seconds":        {"agent", "time of one counter read (histogram)"},
	"crmwatch_perfcounters_read_duration_seconds_bucket": {"agent", "buckets of the counter read time"},
	"crmwatch_perfcounters_unavailable_paths":            {"agent", "counter paths the host does not have"},
	"crmwatch_tracefiles_records_total":                  {"agent", "trace records by outcome"},
	"crmwatch_tracefiles_malformed_lines_total":          {"agent", "trace lines that could not be parsed"},
	"crmwatch_snmptrap_traps_total":                      {"agent", "SNMP traps accepted, by version"},
	"crmwatch_snmptrap_rejected_total":                   {"agent", "SNMP traps refused, by reason"},
	"crmwatch_snmptrap_dropped_total":                    {"agent", "SNMP traps dropped on a full queue"},
	"crmwatch_tail_possibly_missed_bytes_total":          {"agent", "trace bytes that may have been lost (rotation or truncation before read)"},
	"crmwatch_tracefiles_dir_status":                     {"agent", "whether the trace directory is readable"},
	"crmwatch_transport_published_observations_total":    {"agent", "events and samples shipped to NATS"},
	"crmwatch_transport_publish_retries_total":           {"agent", "publish retries"},
	"crmwatch_transport_publish_dropped_total":           {"agent", "observations dropped after retries"},
	"crmwatch_transport_publish_duration_seconds_bucket": {"agent", "publish latency buckets"},
	// server
	"crmwatch_alerts_open":                         {"server", "open alerts by severity and state"},
	"crmwatch_alerts_open_organization":            {"server", "open alerts naming an organization, by organization and severity"},
	"crmwatch_rules_alerts_raised_total":           {"server", "alerts raised, by rule kind"},
	"crmwatch_rules_alerts_resolved_total":         {"server", "alerts resolved, by rule kind"},
	"crmwatch_rules_events_total":                  {"server", "events evaluated"},
	"crmwatch_rules_samples_total":                 {"server", "counter samples evaluated"},
	"crmwatch_rules_heartbeats_total":              {"server", "agent heartbeats seen"},
	"crmwatch_rules_unknown_role_events_total":     {"server", "events from hosts with no announced role"},
	"crmwatch_rules_evaluation_errors_total":       {"server", "evaluation problems by reason"},
	"crmwatch_rules_loaded":                        {"server", "enabled rules"},
	"crmwatch_ingest_observations_total":           {"server", "observations handed to the rules engine, by stream"},
	"crmwatch_ingest_duplicate_observations_total": {"server", "re-sent trace records dropped"},
	"crmwatch_evaluator_active":                    {"server", "1 while this server evaluates rules"},
}
