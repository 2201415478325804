//go:build !crashpoints

package release

// crashpoint does nothing in the binaries that ship; see crashpoint_on.go.
func crashpoint(string) {}
