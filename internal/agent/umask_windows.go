//go:build windows

package agent

// setUmask does nothing: Windows has no umask (cfn-hup ignores it there too).
func setUmask(uint32) {}
