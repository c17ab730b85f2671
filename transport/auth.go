package transport

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"crmwatch/secret"
)

// Permissions are the subjects one NATS user may publish to and subscribe
// to; everything else is refused by the NATS server (and logged by it).
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// InboxPrefix is the reply-subject prefix of host's agent. Each agent gets
// its own so that it may subscribe to its replies and nobody else's.
func (n Names) InboxPrefix(host string) string {
	return "_INBOX." + n.prefix() + "." + SubjectToken(host)
}

// AgentPermissions are exactly what the agent of host needs:
//
//   - publish its events and samples (JetStream acknowledges to its inbox);
//   - write its registration in the agents bucket and its acknowledgement
//     (applied.<host>) in the trace-settings bucket;
//   - read its desired trace setting (desired.<host>) and the per-role
//     collection plans (collect.*: the same for every agent of a role, pack
//     content without customer data);
//   - look up those three buckets, answer JetStream's flow control for its
//     watches and delete their consumers when they stop;
//   - subscribe to its own inbox only.
//
// A watch is an ordered consumer whose filter is part of the create
// subject ($JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>); the NATS
// server refuses a request whose body names another filter, so an agent
// cannot widen its watch to other hosts' keys.
func (n Names) AgentPermissions(host string) Permissions {
	h := SubjectToken(host)
	agents, trace, packs := n.AgentsBucket(), n.TraceSettingsBucket(), n.PacksBucket()
	kvStream := func(b string) string { return "KV_" + b }
	kvSubj := func(b, key string) string { return "$KV." + b + "." + key }
	return Permissions{
		Publish: []string{
			n.EventsSubject(host),
			n.SamplesSubject(host),
			kvSubj(agents, h),
			kvSubj(trace, "applied."+h),
			"$JS.API.INFO",
			"$JS.API.STREAM.INFO." + kvStream(agents),
			"$JS.API.STREAM.INFO." + kvStream(trace),
			"$JS.API.STREAM.INFO." + kvStream(packs),
			"$JS.API.CONSUMER.CREATE." + kvStream(trace) + ".*." + kvSubj(trace, "desired."+h),
			"$JS.API.CONSUMER.CREATE." + kvStream(packs) + ".*." + kvSubj(packs, "collect.*"),
			"$JS.API.DIRECT.GET." + kvStream(trace) + "." + kvSubj(trace, "desired."+h),
			"$JS.API.DIRECT.GET." + kvStream(trace) + "." + kvSubj(trace, "applied."+h),
			// A watch deletes its consumer when it stops. The names are
			// random, so this also lets an agent delete another watcher's
			// consumer on these two buckets; watchers are ordered
			// consumers that recreate theirs (docs/security.md).
			"$JS.API.CONSUMER.DELETE." + kvStream(trace) + ".*",
			"$JS.API.CONSUMER.DELETE." + kvStream(packs) + ".*",
			"$JS.FC." + kvStream(trace) + ".>",
			"$JS.FC." + kvStream(packs) + ".>",
		},
		Subscribe: []string{n.InboxPrefix(host) + ".>"},
	}
}

func (p Permissions) server() *natsserver.Permissions {
	return &natsserver.Permissions{
		Publish:   &natsserver.SubjectPermission{Allow: p.Publish},
		Subscribe: &natsserver.SubjectPermission{Allow: p.Subscribe},
	}
}

// Enrolled is one agent allowed to connect: its name and the public part
// of its NATS key (the seed stays in its credentials file).
type Enrolled struct {
	Name      string
	PublicKey string
}

// Users are who may connect to an embedded NATS with authentication on:
// the crmwatch server itself (every permission) and the enrolled agents.
type Users struct {
	// Server is the public key of the crmwatch server's own user.
	Server string
	Agents []Enrolled
}

func (u Users) nkeys(n Names) []*natsserver.NkeyUser {
	out := []*natsserver.NkeyUser{{Nkey: u.Server}}
	for _, a := range u.Agents {
		out = append(out, &natsserver.NkeyUser{Nkey: a.PublicKey, Permissions: n.AgentPermissions(a.Name).server()})
	}
	return out
}

// NewUserKey creates a NATS user key pair: the public key ("U…") to enroll
// and the seed ("SU…") that proves it.
func NewUserKey() (public string, seed secret.Value, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", secret.Value{}, fmt.Errorf("create NATS user key: %w", err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return "", secret.Value{}, fmt.Errorf("create NATS user key: %w", err)
	}
	s, err := kp.Seed()
	if err != nil {
		return "", secret.Value{}, fmt.Errorf("create NATS user key: %w", err)
	}
	return pub, secret.New(string(s)), nil
}

// CheckPublicKey reports whether s is a NATS user public key. The error
// never repeats s: a seed given by mistake is a secret.
func CheckPublicKey(s string) error {
	if !nkeys.IsValidPublicUserKey(s) {
		if strings.HasPrefix(s, "S") {
			return errors.New("not a NATS user public key: this looks like a seed (S…), which is secret; give the public key (U…)")
		}
		return errors.New("not a NATS user public key (want U followed by 55 characters)")
	}
	return nil
}

// UserKey is a seed ready to sign the server's nonce.
type UserKey struct {
	public string
	seed   secret.Value
}

// ParseUserKey checks a user seed. Errors never repeat it.
func ParseUserKey(seed secret.Value) (UserKey, error) {
	kp, err := nkeys.FromSeed([]byte(seed.Reveal()))
	if err != nil {
		return UserKey{}, fmt.Errorf("NATS key: not a valid user seed (the text is not repeated here: it is a secret)")
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return UserKey{}, fmt.Errorf("NATS key: not a user seed (it must start with SU)")
	}
	return UserKey{public: pub, seed: seed}, nil
}

// Public is the key's public part.
func (k UserKey) Public() string { return k.public }

// option signs the server's nonce with the seed at every (re)connect.
func (k UserKey) option() nats.Option {
	seed := k.seed
	return nats.Nkey(k.public, func(nonce []byte) ([]byte, error) {
		kp, err := nkeys.FromSeed([]byte(seed.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("NATS key: %w", err)
		}
		defer kp.Wipe()
		return kp.Sign(nonce)
	})
}

// ServerConfig renders the part of a nats-server configuration file that
// enforces what the embedded server enforces: the crmwatch server's user
// (public key) with every permission and one user per enrolled agent. With
// account "" it is a top-level authorization block; otherwise an accounts
// block whose account (JetStream enabled) holds those users alone, so
// nothing else on the cluster shares crmwatch's subjects.
func (u Users) ServerConfig(n Names, account string) string {
	var b strings.Builder
	indent := "  "
	if account == "" {
		b.WriteString("authorization {\n")
	} else {
		fmt.Fprintf(&b, "accounts {\n  %s {\n    jetstream: enabled\n", account)
		indent = "    "
	}
	fmt.Fprintf(&b, "%susers = [\n", indent)
	fmt.Fprintf(&b, "%s  # the crmwatch server: every permission\n%s  { nkey: %s }\n", indent, indent, u.Server)
	agents := append([]Enrolled(nil), u.Agents...)
	sort.Slice(agents, func(i, j int) bool { return agents[i].Name < agents[j].Name })
	for _, a := range agents {
		p := n.AgentPermissions(a.Name)
		fmt.Fprintf(&b, "%s  # agent %s\n%s  { nkey: %s\n%s    permissions: {\n", indent, a.Name, indent, a.PublicKey, indent)
		fmt.Fprintf(&b, "%s      publish: { allow: %s }\n", indent, quoteList(p.Publish))
		fmt.Fprintf(&b, "%s      subscribe: { allow: %s }\n%s    }\n%s  }\n", indent, quoteList(p.Subscribe), indent, indent)
	}
	fmt.Fprintf(&b, "%s]\n", indent)
	if account != "" {
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
