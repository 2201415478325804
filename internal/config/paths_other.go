//go:build !windows

package config

// Default locations on Linux and other Unix systems.
const (
	// DefaultConfigPath is where the agent looks for stackhand.yaml when given no --config.
	DefaultConfigPath = "/etc/stackhand/stackhand.yaml"
	// DefaultHooksDir holds hooks.d/<event>/ scripts.
	DefaultHooksDir = "/etc/stackhand/hooks.d"
	// DefaultStateDir holds state.json, log checkpoints, payloads and the requests spool.
	DefaultStateDir = "/var/lib/stackhand"
	// DefaultLogDir holds the agent log and one log per hook run.
	DefaultLogDir = "/var/log/stackhand"
	// DefaultCfnHupDir is where cfn-hup reads cfn-hup.conf and hooks.d/.
	DefaultCfnHupDir = "/etc/cfn"
	// DefaultCfnHupDataDir is where a running cfn-hup keeps metadata_db.json, the value
	// each hook last saw (cfnbootstrap/update_hooks.py, HookProcessor).
	DefaultCfnHupDataDir = "/var/lib/cfn-hup/data"
)
