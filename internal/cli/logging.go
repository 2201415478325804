package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/trust"
)

// agentLogMax and agentLogKeep bound the agent's own log file: 10 MiB, three old copies.
const (
	agentLogMax  = 10 << 20
	agentLogKeep = 3
)

// newLogger logs to stderr — human-readable on a terminal, JSON otherwise (journald,
// the Windows service) — and, when logDir is set, as JSON to logDir/agent.log as well.
func newLogger(level string, logDir string, stderr io.Writer) (*zap.Logger, func(), error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "time"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	encCfg.EncodeDuration = zapcore.StringDurationEncoder
	var stderrEnc zapcore.Encoder
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		c := encCfg
		c.EncodeLevel = zapcore.CapitalColorLevelEncoder
		stderrEnc = zapcore.NewConsoleEncoder(c)
	} else {
		stderrEnc = zapcore.NewJSONEncoder(encCfg)
	}
	cores := []zapcore.Core{zapcore.NewCore(stderrEnc, zapcore.Lock(zapcore.AddSync(stderr)), lvl)}
	closeFn := func() {}
	var fileErr error
	if logDir != "" {
		w, err := openRotating(filepath.Join(logDir, "agent.log"), agentLogMax, agentLogKeep)
		if err != nil {
			fileErr = err
		} else {
			cores = append(cores, zapcore.NewCore(zapcore.NewJSONEncoder(encCfg), w, lvl))
			closeFn = func() { w.Close() }
		}
	}
	log := zap.New(zapcore.NewTee(cores...))
	if fileErr != nil {
		log.Error("cannot write the agent log file; logging to stderr only", zap.Error(fileErr))
	}
	return log, func() { log.Sync(); closeFn() }, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// rotating is a log file that is renamed to .1, .2, ... when it grows past max bytes.
type rotating struct {
	mu   sync.Mutex
	path string
	max  int64
	keep int
	f    *os.File
	size int64
}

func openRotating(path string, max int64, keep int) (*rotating, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	r := &rotating{path: path, max: max, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotating) open() error {
	// Never through a symlink: root writes this file.
	f, err := trust.OpenNoFollow(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, info.Size()
	return nil
}

func (r *rotating) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.size > 0 && r.size+int64(len(p)) > r.max {
		r.rotate()
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotating) rotate() {
	r.f.Close()
	r.f = nil
	for i := r.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", r.path, i), fmt.Sprintf("%s.%d", r.path, i+1))
	}
	os.Rename(r.path, r.path+".1")
	if err := r.open(); err != nil {
		r.f = nil
	}
}

func (r *rotating) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	return r.f.Sync()
}

func (r *rotating) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
