package cli

import "errors"

// addCWAgent is not in the Windows build yet: the translator would take the Windows
// binary past its 16 MiB limit (README, Performance), and the Windows side of the
// CloudWatch agent's configuration (windows_events, performance counters) is not
// translated anyway.
func (ld *loaded) addCWAgent(string) error {
	return errors.New("--cwagent-config is not in the Windows build yet: write the logs and metrics sections in stackhand.yaml (stackhand validate --cwagent-config on Linux prints what each key of the agent's configuration becomes)")
}
