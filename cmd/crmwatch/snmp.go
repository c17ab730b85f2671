package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"crmwatch/agent"
	"crmwatch/collectors/snmptrap"
	"crmwatch/event"
	"crmwatch/secret"
)

// newSNMPCmd is crmwatch snmp: SNMP tools.
func newSNMPCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "snmp", Short: "SNMP tools: receive and print traps"}
	cmd.AddCommand(newSNMPListenCmd())
	return cmd
}

// secretList is a repeatable secret flag (--community).
type secretList struct{ vs []secret.Value }

func (l *secretList) Set(s string) error { l.vs = append(l.vs, secret.New(s)); return nil }
func (l *secretList) String() string {
	if len(l.vs) == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s", len(l.vs), secret.Redacted)
}
func (l *secretList) Type() string { return "secret" }

// userList is the repeatable --v3-user flag. Set keeps a parse error for
// the command to report: pflag would quote the whole value, keys included.
type userList struct {
	us   []snmptrap.User
	errs []error
}

func (l *userList) Set(s string) error {
	u, err := snmptrap.ParseV3User(s)
	if err != nil {
		l.errs = append(l.errs, err)
		return nil
	}
	l.us = append(l.us, u)
	return nil
}
func (l *userList) String() string {
	names := make([]string, len(l.us))
	for i, u := range l.us {
		names[i] = u.Name
	}
	return strings.Join(names, ",")
}
func (l *userList) Type() string { return "NAME:AUTHPROTO:AUTHKEY:PRIVPROTO:PRIVKEY" }

func newSNMPListenCmd() *cobra.Command {
	var (
		listen, configFile string
		asJSON             bool
		communities        secretList
		users              userList
	)
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Receive SNMP traps (v1, v2c, v3) and print each one decoded",
		Long: "Listen for SNMP traps as the agent's snmptrap collector does and print each accepted\n" +
			"trap: version, sender, trap OID (named by the mappings and MIBs), variable bindings.\n" +
			"Credentials and mappings come from --config (the agent's file: collectors.snmptrap)\n" +
			"and the flags. Refused packets are counted by reason and summed up at the end.",
		Example: "  crmwatch snmp listen --listen :1162 --community public\n" +
			"  crmwatch snmp listen --listen :162 --v3-user alice:SHA:authpass1:AES:privpass1 --json\n" +
			"  crmwatch snmp listen --config agent.yaml --listen 127.0.0.1:1162",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := errors.Join(users.errs...); err != nil {
				return err
			}
			cfg, err := listenConfig(configFile)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				cfg.Listen = listen
			}
			cfg.Communities = append(cfg.Communities, communities.vs...)
			cfg.Users = append(cfg.Users, users.us...)
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("snmp listen: %w", err)
			}
			return runSNMPListen(cmd, cfg, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", snmptrap.DefaultConfig().Listen, "UDP address to receive traps on (port 162 needs privileges on Linux)")
	f.StringVar(&configFile, "config", "", "agent configuration file: its collectors.snmptrap section (credentials, mappings, MIBs)")
	f.Var(&communities, "community", "SNMPv1/v2c community to accept (repeatable; never printed)")
	f.Var(&users, "v3-user", "SNMPv3 user to accept (repeatable): NAME[@ENGINEID]:AUTHPROTO:AUTHKEY[:PRIVPROTO:PRIVKEY], AUTHPROTO md5|sha|sha224|sha256|sha384|sha512, PRIVPROTO none|des|aes|aes192|aes256|aes192c|aes256c")
	f.BoolVar(&asJSON, "json", false, "one JSON object per trap")
	return cmd
}

// listenConfig reads the snmptrap section of an agent config file over the
// defaults (not yet validated: the flags may add credentials).
func listenConfig(path string) (*snmptrap.Config, error) {
	cfg := snmptrap.DefaultConfig()
	if path == "" {
		return cfg, nil
	}
	f, err := agent.ReadFile(path)
	if err != nil {
		return nil, err
	}
	body, ok := f.Collectors[snmptrap.Type]
	if !ok {
		return nil, fmt.Errorf("%s: no collectors.%s section; add one or pass --community/--v3-user", path, snmptrap.Type)
	}
	data, err := yaml.Marshal(body)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: collectors.%s: %w", path, snmptrap.Type, err)
	}
	return cfg, nil
}

func runSNMPListen(cmd *cobra.Command, cfg *snmptrap.Config, asJSON bool) error {
	mibs, err := snmptrap.LoadMIBs(cfg.MIBs...)
	if err != nil {
		return err
	}
	unknown, _ := event.ParseLevel(cfg.UnknownLevel) // validated
	mapper, unresolved := snmptrap.NewMapper(cfg.Traps, mibs, unknown)
	if len(unresolved) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: no MIB defines %s; those mappings are skipped\n", strings.Join(unresolved, ", "))
	}
	l, err := snmptrap.Listen(cfg.Listen, cfg.ReadBuffer, snmptrap.Credentials{Communities: cfg.Communities, Users: cfg.Users})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	enc := json.NewEncoder(out)
	var mu sync.Mutex
	refused := map[string]int{}
	l.OnTrap = func(t snmptrap.Trap) {
		mapper.Name(&t)
		if asJSON {
			_ = enc.Encode(t)
			return
		}
		fmt.Fprintln(out, trapLine(t))
	}
	l.OnReject = func(reason string) {
		mu.Lock()
		refused[reason]++
		mu.Unlock()
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "listening for SNMP traps on %s (Ctrl-C to stop)\n", l.Addr())
	done := make(chan error, 1)
	go func() { done <- l.Serve() }()
	<-cmd.Context().Done()
	_ = l.Close()
	err = <-done
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(cmd.ErrOrStderr(), "%d traps accepted, %s\n", l.Accepted(), refusedText(refused))
	return err
}

// trapLine is the text form: time, version, sender, trap, bindings.
func trapLine(t snmptrap.Trap) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s v%s %s %s", t.Time.Format("2006-01-02T15:04:05.000Z07:00"), t.Version, t.Source, t.TrapOID)
	if t.TrapName != "" {
		fmt.Fprintf(&b, " (%s)", t.TrapName)
	}
	if t.User != "" {
		fmt.Fprintf(&b, " user=%s engine=%s", t.User, t.EngineID)
	}
	for _, v := range t.Varbinds {
		name := v.Name
		if name == "" {
			name = v.OID
		}
		fmt.Fprintf(&b, " %s=%q", name, v.Value)
	}
	return b.String()
}

func refusedText(m map[string]int) string {
	if len(m) == 0 {
		return "none refused"
	}
	keys := make([]string, 0, len(m))
	total := 0
	for k, n := range m {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return fmt.Sprintf("%d refused (%s)", total, strings.Join(parts, ", "))
}
