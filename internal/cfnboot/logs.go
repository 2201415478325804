package cfnboot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stackhand/stackhand/internal/trust"
)

// initLogs are cfn-init.log (as a logger) and cfn-init-cmd.log.
type initLogs struct {
	log   *zap.Logger
	cmd   io.Writer
	close func()
}

// openInitLogs opens cfn-init.log and cfn-init-cmd.log for appending. A log that cannot
// be opened (a laptop without root, a missing directory) falls back to stderr with one
// line saying so, as cfn-init does (cfnbootstrap/__init__.py configureLogging); a log in
// a directory others could write into, or that is not a plain file of ours, is refused:
// root would otherwise append command output where someone else chose.
func openInitLogs(env Env, verbose bool) (*initLogs, error) {
	initPath, cmdPath := env.InitLog, env.CmdLog
	if initPath == "" {
		initPath = defaultInitLog()
	}
	if cmdPath == "" {
		cmdPath = defaultCmdLog()
	}
	var closers []func()
	open := func(path string) (zapcore.WriteSyncer, error) {
		f, err := openLogFile(path)
		if err == nil {
			closers = append(closers, func() { f.Close() })
			return zapcore.Lock(f), nil
		}
		if errors.Is(err, trust.ErrUntrusted) {
			return nil, err
		}
		fmt.Fprintf(env.stderr(), "Could not open %s for logging (%v). Using stderr instead.\n", path, err)
		return zapcore.Lock(zapcore.AddSync(env.stderr())), nil
	}
	initW, err := open(initPath)
	if err != nil {
		return nil, err
	}
	cmdW, err := open(cmdPath)
	if err != nil {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	level := zapcore.InfoLevel
	if verbose {
		level = zapcore.DebugLevel
	}
	cores := []zapcore.Core{zapcore.NewCore(cfnEncoder(), initW, level)}
	if verbose {
		cores = append(cores, zapcore.NewCore(cfnEncoder(), zapcore.Lock(zapcore.AddSync(env.stderr())), zapcore.DebugLevel))
	}
	return &initLogs{
		log: zap.New(zapcore.NewTee(cores...)),
		// The runner writes cfn-init-cmd.log's lines; each gets cfn-init's prefix here.
		cmd: &cmdLogWriter{w: cmdW, pid: os.Getpid(), now: time.Now, atStart: true},
		close: func() {
			for _, c := range closers {
				c()
			}
		},
	}, nil
}

// openLogFile opens path for appending, created 0600 (it may hold command output and
// whatever secrets commands print). Its directory must pass trust.Check; the file is
// opened without following a symlink and must be a regular file owned by the agent's
// user (or root) — an older log readable by others (aws-cfn-bootstrap left them 0644)
// is made 0600.
func openLogFile(path string) (*os.File, error) {
	euid := os.Geteuid()
	dir, err := trust.Check(filepath.Dir(path), "log directory "+filepath.Dir(path), trust.Dir, euid)
	if err != nil {
		return nil, err
	}
	f, err := trust.OpenNoFollow(filepath.Join(dir.Resolved, filepath.Base(path)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := checkLogFile(f, path, euid); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkLogFile refuses a log that is not a regular file owned by the agent's user or root;
// it takes group and other permissions away.
func checkLogFile(f *os.File, path string, euid int) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s): %w; remove it", path, fi.Mode().Type(), trust.ErrUntrusted)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if uid, ok := fileOwner(fi); ok && uid != 0 && uid != euid {
		return fmt.Errorf("%s is owned by uid %d, not root: %w; remove it (cfn-init logs commands' output there)", path, uid, trust.ErrUntrusted)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(fi.Mode().Perm() &^ 0o077); err != nil {
			return fmt.Errorf("%s: make it readable by root only: %w", path, err)
		}
	}
	return nil
}

// cmdLogWriter gives each line written to cfn-init-cmd.log cfn-init's prefix there,
// "2026-12-04 15:00:00,123 P4242 [INFO] " (aws-cfn-bootstrap's cmd log format:
// %(asctime)s P%(process)d [%(levelname)s] %(message)s).
type cmdLogWriter struct {
	w       io.Writer
	pid     int
	now     func() time.Time
	atStart bool // the next byte starts a line
}

func (c *cmdLogWriter) Write(p []byte) (int, error) {
	written := len(p)
	var b []byte
	for len(p) > 0 {
		if c.atStart {
			t := c.now()
			b = fmt.Appendf(b, "%s,%03d P%d [INFO] ", t.Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6, c.pid)
			c.atStart = false
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			b = append(b, p...)
			break
		}
		b = append(b, p[:i+1]...)
		p = p[i+1:]
		c.atStart = true
	}
	if _, err := c.w.Write(b); err != nil {
		return 0, err
	}
	return written, nil
}
