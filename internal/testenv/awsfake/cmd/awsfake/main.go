// Command awsfake runs the AWS stand-in (package awsfake) on its own, for
// manual runs and benchmarks:
//
//	go run ./internal/testenv/awsfake/cmd/awsfake -addr 127.0.0.1:4566 -state state.json
//
// It prints the URL to give the SDK (AWS_ENDPOINT_URL) on its first line of
// standard output, serves until SIGINT or SIGTERM, and then prints the call
// counts per service and action. While it runs, GET <URL>/_awsfake/calls
// returns the counts and POST <URL>/_awsfake/state adds state.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/stackhand/stackhand/internal/testenv/awsfake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "awsfake:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:4566", "address to listen on (keep it on loopback)")
	statePath := flag.String("state", "", "JSON file of initial state (stacks, instances, groups); see awsfake.State")
	var f awsfake.Faults
	flag.Uint64Var(&f.Seed, "seed", 1, "seed of the fault generator")
	flag.Float64Var(&f.ThrottleRate, "throttle-rate", 0, "share of calls answered with the throttling error (0..1)")
	flag.Float64Var(&f.ServerErrorRate, "server-error-rate", 0, "share of calls answered with HTTP 500 (0..1)")
	flag.Float64Var(&f.DropRate, "drop-rate", 0, "share of calls whose connection is closed without a reply (0..1)")
	flag.DurationVar(&f.Latency, "latency", 0, "delay before each reply")
	flag.Float64Var(&f.ThrottleAbove, "throttle-above", 0, "throttle calls beyond this many per second across all clients (0: off)")
	flag.Parse()

	srv, err := awsfake.Listen(*addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	if *statePath != "" {
		file, err := os.Open(*statePath)
		if err != nil {
			return err
		}
		err = srv.LoadState(file)
		_ = file.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *statePath, err)
		}
	}
	srv.SetFaults(f)
	fmt.Println(srv.URL)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	<-ctx.Done()

	counts := srv.CallCounts()
	fmt.Printf("calls in %s:\n", time.Since(start).Round(time.Millisecond))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Printf("  %-50s %d\n", k, counts[k])
	}
	return nil
}
