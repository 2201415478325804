//go:build windows

package atomicfile

// syncDir is a no-op: Windows has no directory fsync; MoveFileEx is durable enough.
func syncDir(string) {}
