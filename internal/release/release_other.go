//go:build !unix

package release

import (
	"errors"
	"os"
)

// Releases rely on symlinks, rename over a link and ownership by uid: Unix only for now.
var errUnsupported = errors.New("app releases are not supported on this platform yet")

func fdPath(f *os.File) string                                       { return f.Name() }
func readOnly(string) (bool, error)                                  { return false, nil }
func isReadOnly(error) bool                                          { return false }
func isNoSpace(error) bool                                           { return false }
func syncFS(*os.File) error                                          { return nil }
func checkOpenedDir(*os.File, int) error                             { return errUnsupported }
func checkOwnedDir(*os.Root, string, string, string, int, int) error { return errUnsupported }
