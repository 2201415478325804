package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/testenv/imdsmock"
	"github.com/stackhand/stackhand/internal/testenv/journaltest"
)

// The journal end to end: real journal files written by systemd-journal-remote (as
// journald writes them: appended to while the agent follows), read by the agent through
// journalctl, shipped to the stand-in.

// journalStream is the stream the journald tests ship to.
const journalStream = awsInstance + "/journal"

// journaldConfig ships app.service's entries of the journal in dir to logsGroup.
func journaldConfig(dir string) string {
	return fmt.Sprintf(`logs:
  force_flush_interval: 1s
  journald:
    - directory: %s
      units: [app.service]
      start_at: beginning
      log_group_name: %s
      log_stream_name: "{instance_id}/journal"
      retention_in_days: 7
`, dir, logsGroup)
}

// journalWriter numbers app.service's entries (seqLine) and mixes in another unit's,
// which must not ship.
type journalWriter struct {
	t    *testing.T
	dir  string
	next int
}

func (j *journalWriter) write(file string, n int) {
	entries := make([]journaltest.Entry, 0, n+1)
	for range n {
		j.next++
		entries = append(entries, journaltest.Entry{Time: time.Now(), Message: seqLine(j.next), Unit: "app.service", Priority: 6})
	}
	entries = append(entries, journaltest.Entry{Time: time.Now(), Message: "noise from another unit", Unit: "db.service", Priority: 3})
	journaltest.Write(j.t, j.dir, file, entries...)
}

// followers returns the pids of the journalctl processes reading dir.
func followers(dir string) []string {
	var pids []string
	ms, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, m := range ms {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if strings.HasSuffix(args[0], "journalctl") && slices.Contains(args, "--directory="+dir) {
			pids = append(pids, filepath.Base(filepath.Dir(m)))
		}
	}
	return pids
}

// TestAWSJournaldFollowsRotationAndSIGKILL: entries written before the agent starts and
// while it follows are shipped, through SIGKILLs at random moments, a rotation (the
// active file renamed and a new one begun, as journald rotates) and the vacuum of the
// rotated file: every entry of the unit arrives, no other unit's, each restart resends
// at most the batch its killed run had not checkpointed, and no killed run's journalctl
// outlives it.
func TestAWSJournaldFollowsRotationAndSIGKILL(t *testing.T) {
	t.Parallel()
	journaltest.Tools(t)
	seed := crashSeed(t)
	t.Logf("kill moments seeded with %d (STACKHAND_E2E_SEED=%d repeats them)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	jdir := filepath.Join(t.TempDir(), "journal")
	jw := &journalWriter{t: t, dir: jdir}
	jw.write("system.journal", 100)
	w := newAWSWorld(t, journaldConfig(jdir), imdsmock.Config{})
	a := w.startAWS()
	shippedSoFar := func() {
		w.within(waitLimit, fmt.Sprintf("entries 1..%d", jw.next), a, func() bool { return holdsAll(w.aws, journalStream, jw.next) })
	}
	kills := 0
	round := func(file string) {
		for range 5 {
			jw.write(file, 20)
			time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond)))) // the scenario's pace, not a wait for the agent
		}
		a.kill()
		kills++
		// The killed agent's journalctl ends with it, though the journal is quiet.
		w.within(waitLimit, "the killed agent's journalctl to end", a, func() bool { return len(followers(jdir)) == 0 })
		a = w.startAWS()
	}
	shippedSoFar()
	round("system.journal")
	round("system.journal")

	// Rotation: the active file is archived under a new name and a new one begun.
	if err := os.Rename(filepath.Join(jdir, "system.journal"), filepath.Join(jdir, "system@0001-0002.journal")); err != nil {
		t.Fatal(err)
	}
	round("system.journal")
	shippedSoFar()

	// Vacuum of the archived file, everything in it shipped: nothing is lost, and the
	// checkpoint (in the new file) still leads on.
	if err := os.Remove(filepath.Join(jdir, "system@0001-0002.journal")); err != nil {
		t.Fatal(err)
	}
	round("system.journal")
	shippedSoFar()
	if code := a.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	st := analyse(w.aws.LogEvents(logsGroup, journalStream), jw.next)
	if len(st.missing) > 0 || len(st.bad) > 0 {
		t.Fatalf("%d entries missing (first %v), %d out of order or foreign (first %v)", len(st.missing), st.missing[:min(5, len(st.missing))],
			len(st.bad), st.bad[:min(5, len(st.bad))])
	}
	t.Logf("%d entries, %d kills: %d duplicates in %d resends %v", jw.next, kills, st.dups, len(st.restarts), st.restarts)
	if len(st.restarts) > kills {
		t.Errorf("the stream went back %d times (%v), more than the %d kills", len(st.restarts), st.restarts, kills)
	}
	// A batch leaves every second; 100 entries are written per second at most.
	for _, r := range st.restarts {
		if r > 250 {
			t.Errorf("a restart resent %d entries, more than a batch", r)
		}
	}
	for _, e := range w.aws.LogEvents(logsGroup, journalStream) {
		if strings.Contains(e.Message, "another unit") {
			t.Fatalf("db.service's entry shipped: %q", e.Message)
		}
	}
	noRefusedLogsCalls(t, w.aws)
}
