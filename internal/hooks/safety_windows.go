//go:build windows

package hooks

// Check returns why the hook at path may not run, or nil. On Windows it is always nil:
// ownership and mode checks are a Unix contract; hooks.d is protected by its ACL.
func Check(path string) error { return nil }

func check(path, label string, euid int) error { return nil }
