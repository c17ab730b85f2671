// Package tracegen writes realistic CRM platform trace files for the
// `trace stats` performance test and for reproducing its figures: a `#`
// header, *:Verbose traffic from many organizations, requests of 3–40
// records spread over up to a few seconds, call stacks, multi-line messages
// and MSCRM Error Reports, in 100 MB rollover files named like a server's.
// Output is deterministic for a seed.
package tracegen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Options for Generate.
type Options struct {
	Dir       string
	Bytes     int64 // total size to write (at least)
	FileBytes int64 // rollover size (default 100 MB, CRM's TraceFileSizeLimit maximum)
	Seed      uint64
}

var (
	categories = []string{"Platform.Sql", "Platform.Sql", "Platform", "Platform.Sdk", "Application", "Platform.Async",
		"Platform.Workflow", "Platform.Metadata", "Sandbox", "Exception", "Deployment"}
	operations = []string{"CrmDbConnection.InternalExecuteReader", "QueryExecution.Execute", "HttpApplication.RecordError",
		"CrmSessionAuthenticationManager.PublishIdentity", "SandboxHost.AuthenticateCaller", "ErrorInformation.LogError",
		"AsyncOperationCommand.Execute", "OrganizationSdkServiceInternal.Execute", "CrmException..ctor"}
	messages = []string{
		"exec p_GetDefaultOrgFromAuthInfo 'W: S-1-5-21-1004336348-1177238915-682003330-500'",
		"Query execution time of 11.4 seconds exceeded the threshold of 10 seconds. Thread: 30; Database: Contoso_MSCRM; Query: select top 5001 \"account\".name as \"name\" from Account",
		"CrmSessionAuthenticationManager published CrmClaimsIdentity [UserToken:C:admin@contoso.local]",
		"Web Service Plug-in failed in SdkMessageProcessingStepId: {6A3C2E90-1F2B-4C1E-9D7A-0B5F3C8E2A11}; EntityName: account; Stage: 30",
		"Request https://crm.contoso.local/Contoso/default.aspx failed with exception System.NullReferenceException: Object reference not set",
	}
)

// Generate writes files until Bytes are written and returns their paths.
func Generate(o Options) ([]string, error) {
	if o.FileBytes <= 0 {
		o.FileBytes = 100 << 20
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("tracegen: %w", err)
	}
	g := &gen{rnd: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		now: time.Date(2015, 12, 8, 9, 0, 0, 0, time.UTC)}
	for i := range 60 {
		g.orgs = append(g.orgs, g.guid())
		_ = i
	}
	var paths []string
	var written int64
	for seq := 1; written < o.Bytes; seq++ {
		p := filepath.Join(o.Dir, fmt.Sprintf("CRM02-w3wp(15248#65568210)-CRMWeb-20151208-%d.log", seq))
		n, err := g.file(p, min(o.FileBytes, o.Bytes-written))
		if err != nil {
			return nil, err
		}
		written += n
		paths = append(paths, p)
	}
	return paths, nil
}

type gen struct {
	rnd  *rand.Rand
	now  time.Time
	orgs []string
	open []request
	buf  []byte
}

type request struct {
	id, org, user string
	left          int
	thread        int
}

func (g *gen) guid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rnd.Uint32())
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (g *gen) file(path string, size int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("tracegen: %w", err)
	}
	cw := &countWriter{w: f}
	w := bufio.NewWriterSize(cw, 1<<20)
	fmt.Fprintf(w, "# %s\n# LocalTime: %s\n# Categories: *:Verbose\n# CallStackOn: True\n# ComputerName: CRM02\n# CRMVersion: 5.0.9690.3557\n# DeploymentType: OnPremise\n# ScaleGroup: \n# ServerRole: AppServer, AsyncService\n",
		filepath.Base(path), g.now.Format("2006-01-02 15:04:05.000"))
	for cw.n+int64(w.Buffered()) < size {
		if _, err := w.Write(g.record()); err != nil {
			f.Close()
			return 0, fmt.Errorf("tracegen: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("tracegen: %w", err)
	}
	return cw.n, f.Close()
}

// record returns the next record's text, interleaving up to 40 open
// requests the way concurrent threads of one w3wp do.
func (g *gen) record() []byte {
	g.now = g.now.Add(time.Duration(g.rnd.IntN(400)) * time.Microsecond)
	if len(g.open) < 40 && (len(g.open) == 0 || g.rnd.IntN(8) == 0) {
		g.open = append(g.open, request{id: g.guid(), org: g.orgs[g.rnd.IntN(len(g.orgs))], user: g.guid(),
			left: 3 + g.rnd.IntN(38), thread: 1 + g.rnd.IntN(200)})
	}
	k := g.rnd.IntN(len(g.open))
	r := &g.open[k]
	level := "Verbose"
	switch x := g.rnd.IntN(100); {
	case x < 3:
		level = "Error"
	case x < 10:
		level = "Warning"
	case x < 25:
		level = "Info"
	}
	b := g.buf[:0]
	b = append(b, '[')
	b = g.now.AppendFormat(b, "2006-01-02 15:04:05.000")
	b = append(b, "] Process: w3wp |Organization:"...)
	b = append(b, r.org...)
	b = append(b, " |Thread: "...)
	b = strconv.AppendInt(b, int64(r.thread), 10)
	b = append(b, " |Category: "...)
	b = append(b, categories[g.rnd.IntN(len(categories))]...)
	b = append(b, " |User: "...)
	b = append(b, r.user...)
	b = append(b, " |Level: "...)
	b = append(b, level...)
	b = append(b, " |ReqId: "...)
	b = append(b, r.id...)
	b = append(b, " | "...)
	op := operations[g.rnd.IntN(len(operations))]
	b = append(b, op...)
	b = append(b, "  ilOffset = 0x"...)
	b = strconv.AppendInt(b, int64(g.rnd.IntN(400)), 16)
	b = append(b, '\n')
	if g.rnd.IntN(10) == 0 {
		b = append(b, "\tat "...)
		b = append(b, op...)
		b = append(b, "(IDbCommand command, Boolean capturePerfTrace)  ilOffset = 0x16\n"...)
	}
	b = append(b, '>')
	b = append(b, messages[g.rnd.IntN(len(messages))]...)
	b = append(b, '\n')
	if level == "Error" && g.rnd.IntN(4) == 0 {
		b = append(b, "MSCRM Error Report:\n----------------------------------------\nError: Server was unable to process request.\nError Number: 0x80040220\nError Message: SecLib::CrmCheckPrivilege failed.\n"...)
	}
	g.buf = b
	r.left--
	if r.left <= 0 {
		g.open[k] = g.open[len(g.open)-1]
		g.open = g.open[:len(g.open)-1]
	}
	return b
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
