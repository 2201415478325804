package source

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
)

// SSMFile is the local-mode file of Parameter Store parameters: an object of name to
// string value.
const SSMFile = "ssm.json"

// SSMAPI is the part of the Systems Manager client the ssm source uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, name string) (awsenv.SSMParameter, error)
}

// ssmObserved is how a parameter is observed: its value and, from AWS, its version. The
// version is part of the observed value because a parameter put again with the same value
// is a new version, and that is a change (a release re-pushed on purpose): comparing the
// values alone would miss it.
type ssmObserved struct {
	Value   string `json:"value"`
	Version int64  `json:"version,omitempty"`
}

func observeParameter(value string, version int64) Observed {
	b, _ := json.Marshal(ssmObserved{Value: value, Version: version})
	return Observed{Present: true, Value: b}
}

// SSMValue reads a parameter's value and version (0 in mode local) back from what the
// ssm source observed, as a hook payload or an app's revision needs it. ok is false when
// raw is not such a value.
func SSMValue(raw json.RawMessage) (value string, version int64, ok bool) {
	var o ssmObserved
	if json.Unmarshal(raw, &o) != nil {
		return "", 0, false
	}
	return o.Value, o.Version, true
}

// AWSSSM polls ssm:GetParameter for each parameter the rules watch, once per name per
// pass. A parameter that does not exist (ParameterNotFound) is observed absent, as a
// removed metadata key is; one that could not be read is left out of the pass, so the
// engine keeps its rules as they were.
//
// Values are not decrypted (WithDecryption false): a SecureString parameter changes with
// its version all the same, and its secret then never lands in state, hook payloads or
// logs, and the role needs no kms:Decrypt.
type AWSSSM struct {
	SSM      SSMAPI
	Names    []string // the parameters, each once
	Clock    clock.Clock
	Interval time.Duration
	// Jitter returns a number in [0, 1); nil is math/rand.
	Jitter func() float64
}

// Name returns "ssm".
func (AWSSSM) Name() string { return "ssm" }

// Run polls until ctx ends.
func (s AWSSSM) Run(ctx context.Context, emit func(Update)) error {
	poll(ctx, s.Clock, s.Interval, s.Jitter, func(ctx context.Context) pollResult {
		vals, throttled, err := s.Read(ctx)
		if ctx.Err() != nil {
			return pollResult{}
		}
		emit(Update{Source: s.Name(), Params: vals, Err: err})
		return pollResult{throttled: throttled}
	})
	return nil
}

// Read makes one pass: the parameters read, by name; whether AWS throttled a call; and
// the first error, explained.
func (s AWSSSM) Read(ctx context.Context) (map[string]Observed, bool, error) {
	out := make(map[string]Observed, len(s.Names))
	throttled := false
	var first error
	for _, name := range s.Names {
		p, err := s.SSM.GetParameter(ctx, name)
		switch {
		case err == nil:
			out[name] = observeParameter(p.Value, p.Version)
		case awsenv.ErrorCode(err) == "ParameterNotFound":
			out[name] = Observed{}
		default:
			if awsenv.IsThrottle(err) {
				throttled = true
			}
			if first == nil {
				first = fmt.Errorf("parameter %s: %w", name, awsenv.ExplainErr(err, "ssm:GetParameter"))
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return out, throttled, first
}

// LocalSSM reads ssm.json: an object of parameter name to string value. A missing file
// means no parameters, so every watched one is absent; a changed value is a change.
type LocalSSM struct {
	Local
	Names []string
}

// Name returns "ssm".
func (LocalSSM) Name() string { return "ssm" }

// Read returns the watched parameters once.
func (s LocalSSM) Read() (map[string]Observed, error) {
	b, err := s.readLocal(SSMFile)
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	if b != nil {
		if err := s.decodeLocal(SSMFile, b, &params); err != nil {
			return nil, err
		}
	}
	out := make(map[string]Observed, len(s.Names))
	for _, name := range s.Names {
		if v, ok := params[name]; ok {
			out[name] = observeParameter(v, 0)
		} else {
			out[name] = Observed{}
		}
	}
	return out, nil
}

// Run reports the parameters at start, on every change of ssm.json and every interval.
func (s LocalSSM) Run(ctx context.Context, emit func(Update)) error {
	watchDir(ctx, s.clock(), s.Dir, isName(SSMFile), s.interval(), func() {
		vals, err := s.Read()
		emit(Update{Source: s.Name(), Params: vals, Err: err})
	})
	return nil
}

// SSMNames returns the distinct parameter names, sorted, of names (each rule's ssm:).
func SSMNames(names []string) []string {
	set := map[string]bool{}
	for _, n := range names {
		if n != "" {
			set[n] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
