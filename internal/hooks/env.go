package hooks

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// defaultPath is the PATH a hook gets when the agent has none (systemd gives services one,
// but an agent started by hand from a bare environment may not).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// contractVars are the variables the runner sets. Copies inherited from the agent's own
// environment are dropped, so that, say, a stale STACKHAND_RETRY never reaches a hook.
var contractVars = []string{
	"STACKHAND_EVENT", "STACKHAND_EVENT_ID", "STACKHAND_REASON", "STACKHAND_EVENT_FILE",
	"STACKHAND_INSTANCE_ID", "STACKHAND_STACK", "STACKHAND_RETRY",
}

// hookEnv builds a hook's environment: base (the agent's environment), then the
// STACKHAND_* variables of s, then identity (HOME/USER/LOGNAME of a runas user), then
// s.Env. Later entries override earlier ones with the same key.
func hookEnv(goos string, base []string, s Spec, payloadFile string, identity []string) []string {
	fold := goos == "windows"
	inherited := make([]string, 0, len(base))
	for _, kv := range base {
		if !isContractVar(envKey(kv), fold) {
			inherited = append(inherited, kv)
		}
	}
	contract := []string{
		"STACKHAND_EVENT=" + string(s.Event),
		"STACKHAND_EVENT_ID=" + s.EventID,
		"STACKHAND_REASON=" + boundReason(s.Reason),
		"STACKHAND_EVENT_FILE=" + payloadFile,
		"STACKHAND_INSTANCE_ID=" + s.InstanceID,
		"STACKHAND_STACK=" + s.Stack,
	}
	if s.Region != "" {
		// An empty region would clobber an AWS_REGION the agent was given.
		contract = append(contract, "AWS_REGION="+s.Region)
	}
	if s.Retry {
		contract = append(contract, "STACKHAND_RETRY=1")
	}
	env := mergeEnv(fold, inherited, contract, identity, s.Env)
	if goos != "windows" {
		if v, ok := lookupEnv(env, "PATH", false); !ok || v == "" {
			env = mergeEnv(false, env, []string{"PATH=" + defaultPath})
		}
	}
	return env
}

const (
	// maxEnvEntry is the longest KEY=VALUE entry exec takes on Linux (MAX_ARG_STRLEN, 32
	// pages, counting the terminating NUL).
	maxEnvEntry = 32*4096 - 1
	// maxReason bounds STACKHAND_REASON: with thousands of peers it lists every joined id.
	// The payload file carries the whole reason.
	maxReason = 4096
)

// boundReason cuts a reason longer than maxReason at a character boundary and says so.
func boundReason(reason string) string {
	if len(reason) <= maxReason {
		return reason
	}
	cut := maxReason - 100
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes; the payload file, $STACKHAND_EVENT_FILE, has the whole reason)", reason[:cut], len(reason)-cut)
}

// checkEnvSize returns an error naming the first entry of env too big for exec, and its
// size: such an entry would fail the event on every try.
func checkEnvSize(env []string) error {
	for _, kv := range env {
		if len(kv) > maxEnvEntry {
			k := envKey(kv)
			return fmt.Errorf("environment variable %s is %d bytes, more than the %d bytes exec allows for one variable; the payload file ($STACKHAND_EVENT_FILE) carries the same data in full: read it from there, or make the value smaller",
				k, len(kv)-len(k)-1, maxEnvEntry-len(k)-1)
		}
	}
	return nil
}

// runAsKeep are the variables of the agent's environment a runas command keeps, as sudo's
// env_reset keeps them: the locale and the time zone. Everything else (AWS credentials,
// AWS_* endpoints, proxies, the agent's own settings) is dropped.
var runAsKeep = []string{"LANG", "LANGUAGE", "TZ", "TERM"}

// runAsBaseEnv is the environment a command run as another user starts from: a sane PATH
// and what runAsKeep names (and LC_*), from the agent's environment base.
func runAsBaseEnv(base []string) []string {
	env := []string{"PATH=" + defaultPath}
	for _, kv := range base {
		k := envKey(kv)
		if strings.HasPrefix(k, "LC_") || slices.Contains(runAsKeep, k) {
			env = append(env, kv)
		}
	}
	return env
}

// mergeEnv concatenates lists of KEY=VALUE entries, keeping one entry per key: the last
// value, at the position of the key's first appearance. fold compares keys without case,
// as Windows does. Entries without "=" are dropped.
func mergeEnv(fold bool, lists ...[]string) []string {
	var out []string
	index := map[string]int{}
	for _, list := range lists {
		for _, kv := range list {
			k := envKey(kv)
			if k == "" {
				continue
			}
			if fold {
				k = strings.ToUpper(k)
			}
			if i, ok := index[k]; ok {
				out[i] = kv
				continue
			}
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// envKey returns the key of a KEY=VALUE entry, or "" when there is no "=". A leading "="
// belongs to the key (Windows keeps per-drive directories as "=C:=C:\...").
func envKey(kv string) string {
	if kv == "" {
		return ""
	}
	if i := strings.IndexByte(kv[1:], '='); i >= 0 {
		return kv[:i+1]
	}
	return ""
}

func lookupEnv(env []string, key string, fold bool) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		k := envKey(env[i])
		if k == key || (fold && strings.EqualFold(k, key)) {
			return env[i][len(k)+1:], true
		}
	}
	return "", false
}

func isContractVar(key string, fold bool) bool {
	for _, c := range contractVars {
		if key == c || (fold && strings.EqualFold(key, c)) {
			return true
		}
	}
	return false
}
