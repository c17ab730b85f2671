//go:build linux

package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// full reports whether the whole suite runs (make chaos).
func full() bool { return os.Getenv("CRMWATCH_CHAOS") == "full" }

var (
	buildOnce sync.Once
	binPath   string
	agentPath string
	buildErr  error
)

// binary builds cmd/crmwatch and cmd/crmwatch-agent once per test run and
// returns crmwatch; agents run from agentBinary, what CRM servers install.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crmwatch-chaos-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath, agentPath = filepath.Join(dir, "crmwatch"), filepath.Join(dir, "crmwatch-agent")
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			buildErr = fmt.Errorf("find the module root: %w", err)
			return
		}
		for _, b := range [][2]string{{binPath, "./cmd/crmwatch"}, {agentPath, "./cmd/crmwatch-agent"}} {
			cmd := exec.Command("go", "build", "-o", b[0], b[1])
			cmd.Dir = strings.TrimSpace(string(root))
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// agentBinary is the built crmwatch-agent.
func agentBinary(t *testing.T) string {
	t.Helper()
	binary(t)
	return agentPath
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, port int, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(end) {
			t.Fatalf("nothing listens on port %d after %s", port, within)
		}
	}
}

// proc is a restartable child process; its output goes to a log file the
// test prints when it fails.
type proc struct {
	t    *testing.T
	name string
	args []string
	env  []string
	log  string
	cmd  *exec.Cmd
	done chan error
}

func newProc(t *testing.T, name string, args ...string) *proc {
	p := &proc{t: t, name: name, args: args, log: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			data, _ := os.ReadFile(p.log)
			t.Logf("--- %s log (last 4 KiB) ---\n%s", name, tail(data, 4096))
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (p *proc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(f, "=== start %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(p.args, " "))
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait(); f.Close() }()
}

// kill9 ends the process as a crash would.
func (p *proc) kill9() {
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// term asks the process to stop (SIGTERM) and waits for it.
func (p *proc) term(within time.Duration) {
	p.t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("%s stopped with %v after SIGTERM", p.name, err)
		}
	case <-time.After(within):
		p.t.Errorf("%s did not stop within %s of SIGTERM", p.name, within)
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	p.cmd = nil
}

func (p *proc) kill() { p.kill9() }

func (p *proc) logText() string {
	data, _ := os.ReadFile(p.log)
	return string(data)
}

// natsServer is a private nats-server with JetStream.
type natsServer struct {
	*proc
	port int
}

func startNATSServer(t *testing.T) *natsServer {
	t.Helper()
	bin := "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err != nil {
		if p, err := exec.LookPath("nats-server"); err == nil {
			bin = p
		} else {
			t.Fatal("nats-server not installed: run scripts/setup.sh (Debian package nats-server)")
		}
	}
	port := freePort(t)
	n := &natsServer{port: port}
	n.proc = newProc(t, "nats-server", bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", t.TempDir())
	n.start()
	waitPort(t, port, 15*time.Second)
	return n
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsServer) restart() {
	n.kill9()
	n.start()
	waitPort(n.t, n.port, 15*time.Second)
}

// postgres is a private PostgreSQL cluster (run as the postgres user when
// the test runs as root, as PostgreSQL refuses root).
type postgres struct {
	t        *testing.T
	bin, dir string
	port     int
	asUser   []string
}

func startPostgres(t *testing.T) *postgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("PostgreSQL server binaries not installed: run scripts/setup.sh (Debian package postgresql)")
	}
	pg := &postgres{t: t, bin: filepath.Dir(bins[len(bins)-1]), port: freePort(t)}
	base, err := os.MkdirTemp("", "crmwatch-chaos-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	pg.dir = filepath.Join(base, "data")
	if os.Geteuid() == 0 {
		pg.asUser = []string{"runuser", "-u", "postgres", "--"}
		if out, err := exec.Command("chown", "postgres", base).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
		_ = os.Chmod(base, 0o755)
	}
	pg.run("initdb", "-D", pg.dir, "-A", "trust", "-U", "postgres", "--no-sync")
	pg.ctl("start")
	t.Cleanup(func() { pg.ctlQuiet("stop", "-m", "immediate") })
	return pg
}

func (pg *postgres) command(name string, args ...string) *exec.Cmd {
	full := append([]string{filepath.Join(pg.bin, name)}, args...)
	if len(pg.asUser) > 0 {
		full = append(append([]string{}, pg.asUser...), full...)
	}
	return exec.Command(full[0], full[1:]...)
}

func (pg *postgres) run(name string, args ...string) {
	pg.t.Helper()
	cmd := pg.command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		pg.t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
}

func (pg *postgres) ctl(action string, extra ...string) {
	pg.t.Helper()
	args := append([]string{action, "-D", pg.dir, "-w", "-l", filepath.Join(pg.dir, "server.log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on", pg.port, pg.dir)}, extra...)
	pg.run("pg_ctl", args...)
}

func (pg *postgres) ctlQuiet(action string, extra ...string) {
	_ = pg.command("pg_ctl", append([]string{action, "-D", pg.dir}, extra...)...).Run()
}

func (pg *postgres) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// restart stops PostgreSQL as a crash would (immediate: no checkpoint) and
// starts it again after down.
func (pg *postgres) restart(down time.Duration) {
	pg.ctl("stop", "-m", "immediate")
	time.Sleep(down)
	pg.ctl("start")
}

// ctx is a test-wide deadline.
func deadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
