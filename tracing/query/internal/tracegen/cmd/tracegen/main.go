// Command tracegen writes realistic CRM trace files to reproduce the
// `crmwatch trace stats` figures in docs/performance.md:
//
//	go run ./tracing/query/internal/tracegen/cmd/tracegen -out /tmp/traces -mb 1024
package main

import (
	"flag"
	"fmt"
	"os"

	"crmwatch/tracing/query/internal/tracegen"
)

func main() {
	out := flag.String("out", "", "directory to write the trace files to")
	mb := flag.Int64("mb", 1024, "total megabytes (MiB) to write")
	seed := flag.Uint64("seed", 1, "random seed (same seed, same files)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "tracegen: -out DIR is required")
		os.Exit(2)
	}
	paths, err := tracegen.Generate(tracegen.Options{Dir: *out, Bytes: *mb << 20, Seed: *seed})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d files to %s\n", len(paths), *out)
}
