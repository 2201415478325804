//go:build windows

package config

// Default locations on Windows, under %ProgramData% as it is on every standard install.
const (
	// DefaultConfigPath is where the agent looks for stackhand.yaml when given no --config.
	DefaultConfigPath = `C:\ProgramData\stackhand\stackhand.yaml`
	// DefaultHooksDir holds hooks.d\<event>\ scripts.
	DefaultHooksDir = `C:\ProgramData\stackhand\hooks.d`
	// DefaultStateDir holds state.json, log checkpoints, payloads and the requests spool.
	DefaultStateDir = `C:\ProgramData\stackhand\state`
	// DefaultLogDir holds the agent log and one log per hook run.
	DefaultLogDir = `C:\ProgramData\stackhand\logs`
	// DefaultCfnHupDir is where cfn-hup reads cfn-hup.conf and hooks.d\ (%SystemDrive%\cfn).
	DefaultCfnHupDir = `C:\cfn`
	// DefaultCfnHupDataDir is where a running cfn-hup keeps metadata_db.json
	// (%SystemDrive%\cfn\cfn-hup\data).
	DefaultCfnHupDataDir = `C:\cfn\cfn-hup\data`
)
