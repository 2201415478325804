#!/bin/sh
# Makes testdata/sample.tar.bz2, the one archive the tests cannot build in Go (the standard
# library has no bzip2 writer). Run from internal/archive: sh testdata/make-sample.sh
# It needs GNU tar and bzip2. The tree matches sampleMembers in archive_test.go.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 022
mkdir -p "$tmp/app/bin"
printf '#!/bin/sh\necho hi\n' > "$tmp/app/bin/run.sh"
printf 'hello\n' > "$tmp/app/README"
: > "$tmp/app/empty"
ln "$tmp/app/README" "$tmp/app/README.hard"
ln -s bin/run.sh "$tmp/app/run"
chmod 0750 "$tmp/app/bin"
chmod 0755 "$tmp/app/bin/run.sh"
chmod 0600 "$tmp/app/empty"
tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner --mtime=2026-12-04T12:00:00Z \
	--format=gnu -cf - app | bzip2 -9 > testdata/sample.tar.bz2
