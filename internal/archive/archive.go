// Package archive unpacks tar (plain, gzip, bzip2, zstd) and zip archives into a directory,
// streaming and refusing hostile entries: cfn-init's `sources` and app releases unpack
// archives fetched from the network as root, so an archive is treated as an attacker's.
//
// The rules, the same for Scan and Extract:
//   - an entry's name may not be absolute nor hold a ".." component;
//   - a symbolic link's target must be relative and, resolved from the link's directory,
//     stay inside dest: only leading ".." components, no more of them than the link is
//     deep, and no ".." after a name (a name may itself be a link, so "a/../x" can leave);
//   - a hard link must name a regular file that came earlier in the same archive;
//   - devices, fifos and other special entries are refused;
//   - nothing is written through a symbolic link: every directory on the way to an entry
//     must be a real directory (the archive's own links and links already in dest alike),
//     and every file operation goes through an os.Root opened on dest, so that even a race
//     with another process cannot carry a write outside dest.
//
// Extract scans the whole archive before it writes anything (a refused entry, a truncated
// archive, too little disk: nothing is written), then unpacks over what dest holds, as
// cfn-init does: files in the archive replace those in dest (through a temporary name and
// a rename, owner and mode set before the rename), other files are left alone.
package archive

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Format is an archive's container and compression.
type Format int

// The formats Extract reads.
const (
	Unknown Format = iota
	Tar
	TarGzip
	TarBzip2
	TarZstd
	Zip
)

// String names the format as a person would write its file suffix.
func (f Format) String() string {
	switch f {
	case Tar:
		return "tar"
	case TarGzip:
		return "tar.gz"
	case TarBzip2:
		return "tar.bz2"
	case TarZstd:
		return "tar.zst"
	case Zip:
		return "zip"
	}
	return "unknown"
}

// HeadSize is how many leading bytes Detect wants to see (a tar header's magic sits at
// offset 257 and its checksum covers the first 512 bytes).
const HeadSize = 512

// ErrNotArchive is wrapped by Detect's error when the bytes are no format it reads.
var ErrNotArchive = errors.New("not an archive")

var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicZip   = []byte("PK\x03\x04")
	magicZip0  = []byte("PK\x05\x06") // an empty zip: only the end of central directory
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicUstar = []byte("ustar")
)

// Detect tells an archive's format from its first bytes (up to HeadSize of them); name
// (a file name or URL path) is only a hint, used for an old tar without the ustar magic,
// whose header checksum must still be right. When nothing matches, the error wraps
// ErrNotArchive and says what the bytes look like (an HTML error page, text, ...).
func Detect(name string, head []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return TarGzip, nil
	case bytes.HasPrefix(head, magicBzip2):
		return TarBzip2, nil
	case bytes.HasPrefix(head, magicZstd):
		return TarZstd, nil
	case bytes.HasPrefix(head, magicZip), bytes.HasPrefix(head, magicZip0):
		return Zip, nil
	case len(head) >= 262 && bytes.Equal(head[257:262], magicUstar):
		return Tar, nil
	case bytes.HasPrefix(head, magicXz):
		return Unknown, fmt.Errorf("%w: %s is xz-compressed, which stackhand does not read; recompress it with gzip or zstd", ErrNotArchive, name)
	}
	lower := strings.ToLower(name)
	if (strings.HasSuffix(lower, ".tar") || len(head) >= HeadSize) && tarChecksumOK(head) {
		// A pre-POSIX (v7) tar: no magic, but a header whose checksum adds up.
		return Tar, nil
	}
	return Unknown, fmt.Errorf("%w: %s %s; expected tar, tar.gz, tar.bz2, tar.zst or zip", ErrNotArchive, name, describe(head))
}

// tarChecksumOK reports whether head starts with a tar header whose checksum field (at
// 148, 8 bytes, octal) matches the sum of the header's bytes with that field as spaces.
func tarChecksumOK(head []byte) bool {
	if len(head) < HeadSize {
		return false
	}
	field := strings.TrimRight(strings.TrimLeft(string(head[148:156]), " "), " \x00")
	if field == "" {
		return false
	}
	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	var sum int64
	for i, b := range head[:HeadSize] {
		if i >= 148 && i < 156 {
			b = ' '
		}
		sum += int64(b)
	}
	return sum == want && head[0] != 0
}

// describe says what bytes that are no archive look like, for the error a person reads.
func describe(head []byte) string {
	if len(head) == 0 {
		return "is empty"
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(trimmed) > 0 && trimmed[0] == '<' {
		return fmt.Sprintf("looks like an HTML or XML page (an error page from the server?), starting %q", clip(trimmed, 40))
	}
	if utf8.Valid(head) && !bytes.ContainsRune(head, 0) {
		return fmt.Sprintf("looks like text, starting %q", clip(trimmed, 40))
	}
	return "starts with bytes " + hex.EncodeToString(clip(head, 16))
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// Stats counts what an archive holds (after Options.StripComponents when Extract
// computes it).
type Stats struct {
	Files   int   // regular files (hard links not counted)
	Bytes   int64 // their total size
	Entries int   // every entry written: files, directories, symbolic and hard links
	// OneTopDir is the name of the single top-level directory every entry lies under, or
	// "" when there is not exactly one. cfn-init strips that directory from the archives
	// GitHub generates (its URL matches https?://github.com/*/(zipball|tarball)/*) only
	// when the archive holds exactly one top-level member (aws-cfn-bootstrap,
	// cfnbootstrap/sources_tool.py, _perform_github_magic); the caller decides with this
	// and sets StripComponents to 1.
	OneTopDir string
}

// Options say how Extract writes.
type Options struct {
	// StripComponents drops that many leading path components from every entry's name
	// (and from hard links' targets), as tar --strip-components does; entries left with
	// no name are skipped.
	StripComponents int
	// UID and GID own everything written; -1 leaves the extractor's (root's). The owners
	// recorded in the archive are never used.
	UID, GID int
	// KeepSpecialBits keeps setuid, setgid and sticky bits from the archive; without it
	// they are dropped (an archive from the network does not make setuid programs).
	KeepSpecialBits bool
	// Reserve is how many bytes must stay free on dest's file system after unpacking.
	Reserve int64
}

// EntryError is the error for an entry the rules refuse, or one that could not be
// written; Name is the entry's name as the archive spells it.
type EntryError struct {
	Name string
	Err  error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %q: %v", e.Name, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// ErrRefused is wrapped by every error for an entry the rules refuse.
var ErrRefused = errors.New("refused")

// ErrTruncated is wrapped when the archive ends before its last entry does.
var ErrTruncated = errors.New("archive is truncated")

// ErrNoSpace is wrapped when dest's file system has too little room, found before
// unpacking or while writing.
var ErrNoSpace = errors.New("not enough free space")

func refuse(name, format string, args ...any) error {
	return &EntryError{Name: name, Err: fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)}
}
