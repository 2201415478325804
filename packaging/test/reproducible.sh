#!/usr/bin/env bash
# reproducible.sh — builds the binaries and packages twice, from two copies of the
# source at different paths, under different umasks, time zones and locales, and
# fails unless every file in both dist/ directories has the same SHA-256.
# `make reproducible` passes VERSION, PKG_VERSION and SOURCE_DATE_EPOCH so both builds
# describe the same commit. REPRO_COLD=1 gives the second build an empty Go build
# cache (a cold build of three targets: minutes), so the compiler's output is compared
# too and not only the linker's, nfpm's and wixl's.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=packaging/test/tools.sh
. packaging/test/tools.sh
need_tools "wixl:wixl msibuild:msitools faketime:faketime"
: "${VERSION:?run through make reproducible}" "${PKG_VERSION:?}" "${SOURCE_DATE_EPOCH:?}"
export VERSION PKG_VERSION SOURCE_DATE_EPOCH

a=$(mktemp -d /tmp/stackhand-repro-a.XXXXXX)
b=$(mktemp -d /tmp/stackhand-repro-second-build.XXXXXX)
cache=
trap 'rm -rf "$a" "$b" ${cache:+"$cache"}' EXIT
for d in "$a" "$b"; do
  tar -C "$root" --exclude=./.git --exclude=./dist --exclude=./bin --exclude=./.run -cf - . | tar -C "$d" -xf -
done

echo "== build 1 in $a (umask 022, UTC)"
(cd "$a" && umask 022 && TZ=UTC LC_ALL=C make --no-print-directory package >"$a.log" 2>&1) ||
  { cat "$a.log"; exit 1; }
echo "== build 2 in $b (umask 077, Pacific/Auckland, C.UTF-8${REPRO_COLD:+, empty Go build cache})"
if [ -n "${REPRO_COLD:-}" ]; then cache=$(mktemp -d); export GOCACHE=$cache; fi
chmod -R go-w "$b" # what a umask 077 checkout would have; nfpm.yaml sets the modes anyway
(cd "$b" && umask 077 && TZ=Pacific/Auckland LC_ALL=C.UTF-8 make --no-print-directory package >"$b.log" 2>&1) ||
  { cat "$b.log"; exit 1; }
rm -f "$a.log" "$b.log"

sums() { (cd "$1/dist" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum); }
if diff <(sums "$a") <(sums "$b") >/tmp/stackhand-repro.diff; then
  sums "$a"
  echo "reproducible: both builds are identical ($(sums "$a" | wc -l) files)"
  rm -f /tmp/stackhand-repro.diff
else
  cat /tmp/stackhand-repro.diff
  echo "reproducible: the two builds differ (above: < first, > second)" >&2
  exit 1
fi
