package cfnboot

import "io/fs"

// fileOwner is not used on Windows, where a log's protection is its directory's ACL.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
