//go:build !windows

package logship

// systemWinEvents is the event log of this host: there is none off Windows, and each
// logs.windows_events entry says so in the log and in status.
func systemWinEvents() winEventSource { return noWinEvents{} }
