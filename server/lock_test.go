package server

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestLockDataDirRefusesASecondHolder(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second lock: %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	want := fmt.Sprintf("data directory %s is in use by another crmwatch server (pid %d): stop that server, or give this one another --data", dir, os.Getpid())
	if err.Error() != want {
		t.Errorf("message\n %q\nwant\n %q", err, want)
	}
	release()
	release2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release2()
}

// The lock dies with its process: a server killed with SIGKILL leaves the
// lock file behind, and the next server starts.
func TestLockReleasedWhenTheHolderDies(t *testing.T) {
	if os.Getenv("CRMWATCH_LOCK_HOLDER") != "" {
		return // the helper process runs TestLockHolderProcess only
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	cmd.Env = append(os.Environ(), "CRMWATCH_LOCK_HOLDER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // already dead in the normal case
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "locked") {
		t.Fatalf("helper: %q %v", line, err)
	}
	_, err = lockDataDir(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("while the helper holds it: %v, want pid %d", err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	release()
}

// TestLockHolderProcess is the helper of TestLockReleasedWhenTheHolderDies.
func TestLockHolderProcess(t *testing.T) {
	dir := os.Getenv("CRMWATCH_LOCK_HOLDER")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := lockDataDir(dir); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}
