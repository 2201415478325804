#!/usr/bin/env bash
# package-test.sh — builds the packages (`make package`, into $DIST, default dist/) and tests them on
# this Debian machine, as root: installs, upgrades, removes and purges the .deb; runs
# the maintainer scripts against a stand-in systemctl with and without a running
# systemd; inspects both .rpm and installs them into a scratch rpm root; inspects the
# .msi's tables and contents and signs a copy. Every check that fails is printed; the
# script exits 1 if any did. It leaves the machine as it found it (the .deb is purged
# on every exit path). It runs `make package` itself once its tools are installed.
# VERSION (passed by `make package-test`) is what `stackhand version` must print.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
DIST=${DIST:-dist}
GO=${GO:-go}

# ---- setup: the tools this test needs, installed when we may, never skipped ----------
if [ "$(id -u)" != 0 ]; then
  echo "package-test: must run as root (it installs and purges the .deb): sudo make package-test" >&2
  exit 1
fi
# shellcheck source=packaging/test/tools.sh
. packaging/test/tools.sh
need_tools "dpkg-deb:dpkg rpm:rpm msiinfo:msitools msibuild:msitools msiextract:msitools wixl:wixl
  faketime:faketime file:file systemd-analyze:systemd osslsigncode:osslsigncode openssl:openssl
  unshare:util-linux"
if dpkg-query -W -f '${Status}' stackhand 2>/dev/null | grep -q installed; then
  echo "package-test: stackhand is installed on this machine; this test installs and purges it. Remove it first: dpkg --purge stackhand" >&2
  exit 1
fi
for l in /opt/aws /usr/bin/cfn-init /usr/bin/cfn-signal /usr/bin/cfn-get-metadata; do
  if [ -e "$l" ] || [ -L "$l" ]; then
    echo "package-test: $l exists (aws-cfn-bootstrap?); this test installs and removes cfn-* links there. Move it away first." >&2
    exit 1
  fi
done
if [ -e /etc/stackhand ] || [ -e /var/lib/stackhand ]; then
  echo "package-test: /etc/stackhand or /var/lib/stackhand exists; this test would change it. Move it away first." >&2
  exit 1
fi

# ---- build -------------------------------------------------------------------------
${MAKE:-make} --no-print-directory package DIST="$DIST"

# ---- reporting ------------------------------------------------------------------------
failures=0
ok()   { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}
expect_eq() { # expect_eq DESCRIPTION WANT GOT
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want '$2', got '$3'"; fi
}

tmp=$(mktemp -d)
cleanup() {
  if dpkg-query -W stackhand >/dev/null 2>&1; then dpkg --purge stackhand >/dev/null 2>&1 || true; fi
  # What the test itself put there and a purge leaves: the administrator's own hook.
  rm -f /etc/stackhand/hooks.d/deploy/50-user-hook
  for d in setup configure deploy undeploy shutdown health; do rmdir /etc/stackhand/hooks.d/$d 2>/dev/null || true; done
  rmdir /etc/stackhand/hooks.d /etc/stackhand 2>/dev/null || true
  # The stand-in for aws-cfn-bootstrap's cfn-signal, and any link left to stackhand.
  rm -f /opt/aws/bin/cfn-signal
  for l in /opt/aws/bin/cfn-init /opt/aws/bin/cfn-signal /opt/aws/bin/cfn-get-metadata /usr/bin/cfn-init /usr/bin/cfn-signal /usr/bin/cfn-get-metadata; do
    if [ -L "$l" ] && [ "$(readlink "$l")" = /usr/bin/stackhand ]; then rm -f "$l"; fi
  done
  rmdir /opt/aws/bin /opt/aws 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

shopt -s nullglob
debs=("$DIST"/stackhand_*_amd64.deb) debs_arm=("$DIST"/stackhand_*_arm64.deb)
rpms=("$DIST"/stackhand-*.x86_64.rpm) rpms_arm=("$DIST"/stackhand-*.aarch64.rpm)
msis=("$DIST"/stackhand_*_windows_amd64.msi)
shopt -u nullglob
for v in debs debs_arm rpms rpms_arm msis; do
  declare -n found=$v
  if [ ${#found[@]} -ne 1 ]; then
    echo "package-test: want exactly one $v package in $DIST/, found ${#found[@]}: run make clean package" >&2
    exit 1
  fi
  unset -n found
done
deb=${debs[0]} deb_arm=${debs_arm[0]} rpm_amd=${rpms[0]} rpm_arm=${rpms_arm[0]} msi=${msis[0]}
version=$(dpkg-deb -f "$deb" Version)
version=${version%-*} # without the package release nfpm adds (-1)
echo "== packages of version $version in $DIST/"

# ---- binaries -----------------------------------------------------------------------
echo "== binaries"
max=$((16 * 1024 * 1024))
for b in linux_amd64/stackhand:"ELF 64-bit LSB executable, x86-64" linux_arm64/stackhand:"ELF 64-bit LSB executable, ARM aarch64" \
  windows_amd64/stackhand.exe:"PE32+ executable (console) x86-64"; do
  f=$DIST/bin/${b%%:*} want=${b#*:}
  desc=$(file -b "$f")
  case "$desc" in "$want"*) ok "$f is $want" ;; *) fail "$f: want $want, file says: $desc" ;; esac
  case "$f" in *.exe) ;; *)
    case "$desc" in *"statically linked"*stripped*) ok "$f is static and stripped" ;;
      *) fail "$f is not a static, stripped binary: $desc" ;; esac ;;
  esac
  size=$(stat -c %s "$f")
  if [ "$size" -le $max ]; then ok "$f is $size bytes (<= 16 MiB)"; else fail "$f is $size bytes, over the 16 MiB target"; fi
  # The e2e tests' crash points (-tags crashpoints) never ship.
  if grep -q STACKHAND_CRASH_AT "$f"; then fail "$f was built with -tags crashpoints"; else ok "$f has no crash points"; fi
done

# ---- .deb contents ------------------------------------------------------------------
echo "== .deb contents"
for d in "$deb" "$deb_arm"; do
  arch=$(dpkg-deb -f "$d" Architecture)
  case "$d" in *_"$arch".deb) ok "$d: Architecture $arch" ;; *) fail "$d: Architecture $arch" ;; esac
  expect_eq "$d: conffiles" /etc/stackhand/stackhand.yaml "$(dpkg-deb --ctrl-tarfile "$d" | tar -xOf - ./conffiles | tr -d '\n')"
  listing=$(dpkg-deb -c "$d")
  if grep -q ' ./etc/stackhand/hooks.d/.*/.' <<<"$listing"; then
    fail "$d ships files in /etc/stackhand/hooks.d/ (they would run on every instance)"
  else ok "$d: /etc/stackhand/hooks.d/ ships only empty directories"; fi
  if grep -vE '^[-d]rw[-x]r-[-x]r-[-x] root/root |^drwx------ root/root .* ./var/lib/stackhand/$|^drwxr-x--- root/root .* ./var/log/stackhand/$' <<<"$listing" | grep -v '^$'; then
    fail "$d: entries above are not root-owned or are group/other-writable"
  else ok "$d: every entry is root:root and not group/other-writable"; fi
done

# ---- the maintainer scripts, against a stand-in systemctl ------------------------------
# The scripts run in a private mount namespace with a tmpfs on /run, so "systemd runs"
# can be made true (mkdir /run/systemd/system) without touching this machine.
echo "== maintainer scripts"
mkdir -p "$tmp/fakebin"
cat >"$tmp/fakebin/systemctl" <<'SH'
#!/bin/sh
echo "$*" >>"$SYSTEMCTL_LOG"
SH
chmod 0755 "$tmp/fakebin/systemctl"
script_calls() { # script_calls SCRIPT systemd|nosystemd ARGS... -> the systemctl calls, ;-separated
  local script=$1 mode=$2; shift 2
  : >"$tmp/calls"
  mkdir -p "$tmp/ovl/u" "$tmp/ovl/w"
  rm -rf "$tmp/ovl/u/"* "$tmp/ovl/w/"*
  # /opt and /usr/bin are made private too: postinstall links cfn-* there.
  unshare -m /bin/sh -c '
    mount -t tmpfs tmpfs /run
    mount -t tmpfs tmpfs /opt
    mount -t overlay overlay -o "lowerdir=/usr/bin,upperdir=$OVL/u,workdir=$OVL/w" /usr/bin
    case "$1" in systemd*) mkdir -p /run/systemd/system ;; esac
    [ "$1" = systemd+cfn-hup ] && echo $$ >/run/cfn-hup.pid # a live pid: cfn-hup runs
    shift; script=$1; shift
    exec /bin/sh "$script" "$@"' sh "$mode" "$script" "$@" >/dev/null 2>&1 </dev/null ||
    echo "exit status $?" >>"$tmp/calls"
  tr '\n' ';' <"$tmp/calls"
}
export SYSTEMCTL_LOG=$tmp/calls PATH="$tmp/fakebin:$PATH" OVL=$tmp/ovl
S=packaging/scripts
while IFS='|' read -r what script mode args want; do
  # shellcheck disable=SC2086 # args is a word list
  expect_eq "$what" "$want" "$(script_calls $S/$script "$mode" $args)"
done <<'TABLE'
deb install, systemd runs: reload, enable, start|postinstall.sh|systemd|configure|daemon-reload;enable stackhand.service;start stackhand.service;
deb install, cfn-hup runs: enable, not start (actions would run twice)|postinstall.sh|systemd+cfn-hup|configure|daemon-reload;enable stackhand.service;
rpm install (1), cfn-hup runs: enable, not start|postinstall.sh|systemd+cfn-hup|1|daemon-reload;enable stackhand.service;
deb install, no systemd (image build): enable only|postinstall.sh|nosystemd|configure|enable stackhand.service;
deb upgrade, systemd runs: reload, restart if running|postinstall.sh|systemd|configure 0.9.0|daemon-reload;try-restart stackhand.service;
deb upgrade, no systemd: nothing|postinstall.sh|nosystemd|configure 0.9.0|
deb abort-upgrade: nothing|postinstall.sh|systemd|abort-upgrade 1.0|
rpm install (1), systemd runs|postinstall.sh|systemd|1|daemon-reload;enable stackhand.service;start stackhand.service;
rpm upgrade (2), systemd runs|postinstall.sh|systemd|2|daemon-reload;try-restart stackhand.service;
deb remove, systemd runs: stop, disable|preremove.sh|systemd|remove|stop stackhand.service;disable stackhand.service;
deb remove, no systemd: disable only|preremove.sh|nosystemd|remove|disable stackhand.service;
deb upgrade (old prerm): nothing|preremove.sh|systemd|upgrade 1.1|
rpm erase (0), systemd runs|preremove.sh|systemd|0|stop stackhand.service;disable stackhand.service;
rpm upgrade (1, old %preun): nothing|preremove.sh|systemd|1|
deb postrm remove, systemd runs: reload|postremove.sh|systemd|remove|daemon-reload;
deb postrm upgrade: nothing|postremove.sh|systemd|upgrade 1.1|
rpm postun upgrade (1): nothing|postremove.sh|systemd|1|
TABLE

# The cfn-* links, in the same private namespace: made where nothing of that name is,
# on install and upgrade (deb and rpm conventions), never over aws-cfn-bootstrap's files
# or a dangling link; removed on removal only when they still point at stackhand.
link_states() { # link_states ARGS-OF-POSTINST | ARGS-OF-PRERM -> one word per name
  mkdir -p "$tmp/ovl/u" "$tmp/ovl/w"
  rm -rf "$tmp/ovl/u/"* "$tmp/ovl/w/"*
  unshare -m /bin/sh -c '
    mount -t tmpfs tmpfs /run
    mount -t tmpfs tmpfs /opt
    mount -t overlay overlay -o "lowerdir=/usr/bin,upperdir=$OVL/u,workdir=$OVL/w" /usr/bin
    mkdir -p /opt/aws/bin
    printf "#!/bin/sh\n" >/opt/aws/bin/cfn-signal # aws-cfn-bootstrap s own
    ln -s /usr/lib/python3/gone /usr/bin/cfn-get-metadata # dangling: still not ours to replace
    /bin/sh "$1" $2 >/dev/null 2>&1
    [ -n "$3" ] && ln -sf /opt/aws/bin/cfn-signal /usr/bin/cfn-signal # replaced by someone since
    [ -n "$3" ] && /bin/sh "$3" $4 >/dev/null 2>&1
    for l in /opt/aws/bin/cfn-init /opt/aws/bin/cfn-signal /opt/aws/bin/cfn-get-metadata \
      /usr/bin/cfn-init /usr/bin/cfn-signal /usr/bin/cfn-get-metadata; do
      if [ -L "$l" ]; then printf "%s " "$(readlink "$l")"; elif [ -f "$l" ]; then printf "file "; else printf "none "; fi
    done' sh "$@" </dev/null 2>/dev/null
}
sh_=/usr/bin/stackhand
expect_eq "deb install: links where absent, aws-cfn-bootstrap's file and a dangling link left" \
  "$sh_ file $sh_ $sh_ $sh_ /usr/lib/python3/gone " "$(link_states $S/postinstall.sh configure)"
expect_eq "rpm upgrade (2): missing links made too" \
  "$sh_ file $sh_ $sh_ $sh_ /usr/lib/python3/gone " "$(link_states $S/postinstall.sh 2)"
expect_eq "deb abort-upgrade: no links" "none file none none none /usr/lib/python3/gone " \
  "$(link_states $S/postinstall.sh abort-upgrade)"
expect_eq "deb remove: only links to stackhand removed" "none file none none /opt/aws/bin/cfn-signal /usr/lib/python3/gone " \
  "$(link_states $S/postinstall.sh configure $S/preremove.sh remove)"
expect_eq "rpm erase (0): the same" "none file none none /opt/aws/bin/cfn-signal /usr/lib/python3/gone " \
  "$(link_states $S/postinstall.sh 1 $S/preremove.sh 0)"
expect_eq "deb upgrade (old prerm): links kept" "$sh_ file $sh_ $sh_ /opt/aws/bin/cfn-signal /usr/lib/python3/gone " \
  "$(link_states $S/postinstall.sh configure $S/preremove.sh "upgrade 1.1")"
expect_eq "rpm upgrade (1, old %preun): links kept" "$sh_ file $sh_ $sh_ /opt/aws/bin/cfn-signal /usr/lib/python3/gone " \
  "$(link_states $S/postinstall.sh 1 $S/preremove.sh 1)"

export PATH=${PATH#"$tmp/fakebin:"}
unset SYSTEMCTL_LOG OVL

# ---- .deb: install ------------------------------------------------------------------
echo "== dpkg -i $deb"
# aws-cfn-bootstrap's cfn-signal is there already: the package must leave it alone.
mkdir -p /opt/aws/bin
printf '#!/bin/sh\necho foreign cfn-signal\n' >/opt/aws/bin/cfn-signal
chmod 0755 /opt/aws/bin/cfn-signal
if dpkg -i "$deb" >"$tmp/install.log" 2>&1; then ok "dpkg -i"; else fail "dpkg -i:"; cat "$tmp/install.log"; fi
expect_eq "package is fully installed (the postinst did not fail without systemd)" "install ok installed" \
  "$(dpkg-query -W -f '${Status}' stackhand 2>/dev/null)"
check "postinst said the service starts at next boot" grep -q "systemd is not running here; stackhand.service is enabled" "$tmp/install.log"
while read -r path want; do
  expect_eq "$path" "$want" "$(stat -c '%F %U:%G %a' "$path" 2>&1)"
done <<'MODES'
/usr/bin/stackhand regular file root:root 755
/usr/lib/systemd/system/stackhand.service regular file root:root 644
/etc/stackhand directory root:root 755
/etc/stackhand/stackhand.yaml regular file root:root 644
/etc/stackhand/hooks.d directory root:root 755
/etc/stackhand/hooks.d/setup directory root:root 755
/etc/stackhand/hooks.d/configure directory root:root 755
/etc/stackhand/hooks.d/deploy directory root:root 755
/etc/stackhand/hooks.d/undeploy directory root:root 755
/etc/stackhand/hooks.d/shutdown directory root:root 755
/etc/stackhand/hooks.d/health directory root:root 755
/var/lib/stackhand directory root:root 700
/var/log/stackhand directory root:root 750
/usr/share/doc/stackhand/README.md regular file root:root 644
/usr/share/doc/stackhand/examples/hooks/deploy/10-release regular file root:root 755
/usr/share/doc/stackhand/examples/hooks/setup/10-prepare regular file root:root 755
/usr/share/doc/stackhand/examples/local.yaml regular file root:root 644
/usr/share/doc/stackhand/examples/cloudformation.yaml regular file root:root 644
MODES
expect_eq "hooks.d holds no hooks" "" "$(find /etc/stackhand/hooks.d -type f)"
check "the config is the shipped default" cmp -s /etc/stackhand/stackhand.yaml packaging/stackhand.yaml
check "the unit is the shipped one" cmp -s /usr/lib/systemd/system/stackhand.service packaging/systemd/stackhand.service
expect_eq "the unit is enabled (multi-user.target.wants)" "$(readlink -f /usr/lib/systemd/system/stackhand.service)" \
  "$(readlink -f /etc/systemd/system/multi-user.target.wants/stackhand.service)"
out=$(systemd-analyze verify /usr/lib/systemd/system/stackhand.service 2>&1) && [ -z "$out" ] &&
  ok "systemd-analyze verify: silent" || fail "systemd-analyze verify: $out"
# The check above only means something if verify speaks up on a broken unit.
sed 's/^Restart=always/Restrat=always/' packaging/systemd/stackhand.service >"$tmp/stackhand.service"
out=$(systemd-analyze verify "$tmp/stackhand.service" 2>&1) || true
if [ -n "$out" ]; then ok "systemd-analyze verify reports a typo (control)"; else fail "systemd-analyze verify is silent on a typo: the check above proves nothing"; fi
out=$(/usr/bin/stackhand version 2>&1) && grep -qF -- "${VERSION:-$version}" <<<"$out" &&
  ok "stackhand version: $out" || fail "stackhand version: want ${VERSION:-$version}, got: $out"
out=$(/usr/bin/stackhand validate 2>&1) && ok "stackhand validate accepts the installed default config" ||
  fail "stackhand validate on the installed config: $out"
# The drop-ins: templates call /opt/aws/bin/cfn-init, or cfn-init on PATH.
for l in /opt/aws/bin/cfn-init /opt/aws/bin/cfn-get-metadata /usr/bin/cfn-init /usr/bin/cfn-signal /usr/bin/cfn-get-metadata; do
  expect_eq "$l links to stackhand" /usr/bin/stackhand "$(readlink "$l" 2>&1)"
done
out=$(/opt/aws/bin/cfn-init --help 2>&1) && grep -q "^Usage: cfn-init --stack" <<<"$out" && grep -q "stackhand's cfn-init" <<<"$out" &&
  ok "/opt/aws/bin/cfn-init --help answers as stackhand's cfn-init" || fail "/opt/aws/bin/cfn-init --help: $out"
out=$(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin cfn-signal --help 2>&1) &&
  grep -q "stackhand's cfn-signal" <<<"$out" && ok "cfn-signal on a default PATH answers as stackhand's" || fail "cfn-signal --help: $out"
expect_eq "aws-cfn-bootstrap's /opt/aws/bin/cfn-signal is left alone" "foreign cfn-signal" "$(/opt/aws/bin/cfn-signal 2>&1)"

# ---- .deb: upgrade over an edited config --------------------------------------------
echo "== upgrade over an edited config"
# A package of a higher version whose default config differs, built like the real one.
up_version=$version.1
sed 's|^# aws: watch|# (changed by the upgrade test)\n# aws: watch|' packaging/stackhand.yaml >"$tmp/stackhand.yaml"
sed "s|src: ./packaging/stackhand.yaml|src: $tmp/stackhand.yaml|" nfpm.yaml >"$tmp/nfpm.yaml"
mkdir -p "$tmp/up"
ARCH=amd64 PKG_VERSION=$up_version BIN_DIR=$DIST/bin $GO tool -modfile="$root/tools/go.mod" nfpm \
  package --config "$tmp/nfpm.yaml" --packager deb --target "$tmp/up/" >/dev/null
ARCH=amd64 PKG_VERSION=$up_version BIN_DIR=$DIST/bin $GO tool -modfile="$root/tools/go.mod" nfpm \
  package --config "$tmp/nfpm.yaml" --packager rpm --target "$tmp/up/" >/dev/null
printf 'interval: 30s # edited by package-test\n' >>/etc/stackhand/stackhand.yaml
cp /etc/stackhand/stackhand.yaml "$tmp/edited.yaml"
install -m 0755 /dev/null /etc/stackhand/hooks.d/deploy/50-user-hook
echo '{"test":"state kept"}' >/var/lib/stackhand/state.json
if dpkg -i --force-confold "$tmp"/up/stackhand_*_amd64.deb >"$tmp/upgrade.log" 2>&1; then ok "dpkg -i --force-confold (upgrade to $up_version)"; else fail "upgrade:"; cat "$tmp/upgrade.log"; fi
expect_eq "upgraded version" "$up_version-1" "$(dpkg-query -W -f '${Version}' stackhand)"
check "the edited config is kept" cmp -s /etc/stackhand/stackhand.yaml "$tmp/edited.yaml"
check "the new default is saved beside it (stackhand.yaml.dpkg-dist)" cmp -s /etc/stackhand/stackhand.yaml.dpkg-dist "$tmp/stackhand.yaml"
check "the administrator's hook is kept" test -x /etc/stackhand/hooks.d/deploy/50-user-hook
check "the state is kept" grep -q "state kept" /var/lib/stackhand/state.json
expect_eq "state directory still 0700" 700 "$(stat -c %a /var/lib/stackhand)"
check "still enabled" test -L /etc/systemd/system/multi-user.target.wants/stackhand.service

# ---- .deb: remove, purge ------------------------------------------------------------
echo "== dpkg -r, dpkg --purge"
if dpkg -r stackhand >"$tmp/remove.log" 2>&1; then ok "dpkg -r"; else fail "dpkg -r:"; cat "$tmp/remove.log"; fi
expect_eq "status after remove" "deinstall ok config-files" "$(dpkg-query -W -f '${Status}' stackhand)"
check "binary gone" test ! -e /usr/bin/stackhand
check "unit gone" test ! -e /usr/lib/systemd/system/stackhand.service
check "service disabled (no dangling wants link)" test ! -L /etc/systemd/system/multi-user.target.wants/stackhand.service
check "config kept after remove" cmp -s /etc/stackhand/stackhand.yaml "$tmp/edited.yaml"
check "state kept after remove" test -f /var/lib/stackhand/state.json
if dpkg --purge stackhand >"$tmp/purge.log" 2>&1; then ok "dpkg --purge"; else fail "dpkg --purge:"; cat "$tmp/purge.log"; fi
check "not installed after purge" sh -c '! dpkg-query -W stackhand'
check "config gone after purge" test ! -e /etc/stackhand/stackhand.yaml
check "saved default gone after purge" test ! -e /etc/stackhand/stackhand.yaml.dpkg-dist
check "state directory gone after purge" test ! -e /var/lib/stackhand
check "log directory gone after purge" test ! -e /var/log/stackhand
check "the administrator's own hook survives a purge" test -x /etc/stackhand/hooks.d/deploy/50-user-hook
for l in /opt/aws/bin/cfn-init /opt/aws/bin/cfn-get-metadata /usr/bin/cfn-init /usr/bin/cfn-signal /usr/bin/cfn-get-metadata; do
  check "$l gone after purge" sh -c "! test -L $l"
done
expect_eq "aws-cfn-bootstrap's /opt/aws/bin/cfn-signal survives a purge" "foreign cfn-signal" "$(/opt/aws/bin/cfn-signal 2>&1)"

# A config written before the package is installed (cfn-init in UserData, an image
# build) is kept, as packaging/examples/cloudformation.yaml relies on.
echo "== install over a config written first"
printf 'mode: aws\ninterval: 45s # written before the package\n' >/etc/stackhand/stackhand.yaml
cp /etc/stackhand/stackhand.yaml "$tmp/prewritten.yaml"
if dpkg -i --force-confold "$deb" >"$tmp/install2.log" 2>&1; then ok "dpkg -i --force-confold over a written config"; else fail "dpkg -i:"; cat "$tmp/install2.log"; fi
check "deb: the config written first is kept" cmp -s /etc/stackhand/stackhand.yaml "$tmp/prewritten.yaml"
dpkg --purge stackhand >/dev/null 2>&1 || fail "dpkg --purge after the second install"

# ---- .rpm -----------------------------------------------------------------------------
echo "== .rpm"
for r in "$rpm_amd" "$rpm_arm"; do
  want_arch=x86_64; [ "$r" = "$rpm_arm" ] && want_arch=aarch64
  expect_eq "$r: arch" "$want_arch" "$(rpm -qp --qf '%{ARCH}' "$r" 2>/dev/null)"
  check "$r: digests" rpm -K --nosignature "$r"
  expect_eq "$r: config files" /etc/stackhand/stackhand.yaml "$(rpm -qp --configfiles "$r" 2>/dev/null)"
  expect_eq "$r: the config is %config(noreplace)" "cn /etc/stackhand/stackhand.yaml" \
    "$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$r" 2>/dev/null | grep ' /etc/stackhand/stackhand.yaml$')"
  files=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "$r" 2>/dev/null)
  for want in "-rwxr-xr-x root:root /usr/bin/stackhand" "-rw-r--r-- root:root /usr/lib/systemd/system/stackhand.service" \
    "drwxr-xr-x root:root /etc/stackhand/hooks.d/health" "drwxr-xr-x root:root /etc/stackhand/hooks.d/setup" \
    "drwx------ root:root /var/lib/stackhand" "drwxr-x--- root:root /var/log/stackhand" \
    "-rwxr-xr-x root:root /usr/share/doc/stackhand/examples/hooks/shutdown/10-drain"; do
    check "$r: $want" grep -qxF -- "$want" <<<"$files"
  done
  listed=$(rpm -qlp "$r" 2>/dev/null)
  for want in /usr/bin/stackhand /usr/lib/systemd/system/stackhand.service /etc/stackhand/stackhand.yaml \
    /etc/stackhand/hooks.d/configure /var/lib/stackhand /var/log/stackhand /usr/share/doc/stackhand/examples/cloudformation.yaml; do
    check "$r: rpm -qlp lists $want" grep -qxF -- "$want" <<<"$listed"
  done
  expect_eq "$r: the same files as the .deb" \
    "$(dpkg-deb -c "$deb" | grep -v '^d' | awk '{print $6}' | sed 's|^\.||' | sort | tr '\n' ' ')" \
    "$(grep -v '^d' <<<"$files" | awk '{print $3}' | sort | tr '\n' ' ')"
  scripts=$(rpm -qp --scripts "$r" 2>/dev/null)
  for s in "postinstall scriptlet" "preuninstall scriptlet" "postuninstall scriptlet" "systemctl try-restart stackhand.service" \
    "systemctl enable stackhand.service" "systemctl stop stackhand.service" "[ -d /run/systemd/system ]"; do
    check "$r: --scripts has: $s" grep -qF -- "$s" <<<"$scripts"
  done
done
# Config handling for real, in a scratch rpm database (no scriptlets: they would run
# chrooted into an empty root): an upgrade over an edited config keeps it and writes
# the new default as .rpmnew.
rr=$tmp/rpmroot
mkdir -p "$rr"
rpm --root "$rr" --initdb
if rpm --root "$rr" -i --nodeps --noscripts --ignorearch "$rpm_amd" >"$tmp/rpm.log" 2>&1; then ok "rpm -i into a scratch root"; else fail "rpm -i:"; cat "$tmp/rpm.log"; fi
printf 'interval: 30s # edited by package-test\n' >>"$rr/etc/stackhand/stackhand.yaml"
cp "$rr/etc/stackhand/stackhand.yaml" "$tmp/rpm-edited.yaml"
if rpm --root "$rr" -U --nodeps --noscripts --ignorearch "$tmp"/up/stackhand-*.x86_64.rpm >"$tmp/rpm.log" 2>&1; then ok "rpm -U to $up_version"; else fail "rpm -U:"; cat "$tmp/rpm.log"; fi
check "rpm: the edited config is kept" cmp -s "$rr/etc/stackhand/stackhand.yaml" "$tmp/rpm-edited.yaml"
check "rpm: the new default is saved beside it (stackhand.yaml.rpmnew)" cmp -s "$rr/etc/stackhand/stackhand.yaml.rpmnew" "$tmp/stackhand.yaml"
rr2=$tmp/rpmroot2
mkdir -p "$rr2/etc/stackhand"
rpm --root "$rr2" --initdb
cp "$tmp/prewritten.yaml" "$rr2/etc/stackhand/stackhand.yaml"
rpm --root "$rr2" -i --nodeps --noscripts --ignorearch "$rpm_amd" >/dev/null 2>&1 || fail "rpm -i over a written config"
check "rpm: a config written before the package is kept" cmp -s "$rr2/etc/stackhand/stackhand.yaml" "$tmp/prewritten.yaml"
check "rpm: ... and the default saved beside it (.rpmnew)" cmp -s "$rr2/etc/stackhand/stackhand.yaml.rpmnew" packaging/stackhand.yaml
expect_eq "rpm: modes in the root" "700 750 755" "$(stat -c %a "$rr/var/lib/stackhand" "$rr/var/log/stackhand" "$rr/usr/bin/stackhand" | tr '\n' ' ' | sed 's/ $//')"

# ---- .msi -----------------------------------------------------------------------------
echo "== .msi"
table() { msiinfo export "$msi" "$1" | tail -n +4 | tr '\t' '|' | tr -d '\r'; }
files=$(table File)
for f in "stackhand.exe|Agent|stackhand.exe|" "stackhand.yaml|Config|stackhand.yaml|" "stackhand.default.yaml|DefaultConfig|stackhand.default.yaml|"; do
  check "File table: ${f%%|*} in component $(cut -d'|' -f2 <<<"$f")" grep -qF -- "$f" <<<"$files"
done
comps=$(table Component)
attrs() { grep "^$1|" <<<"$comps" | cut -d'|' -f4; }
a=$(attrs Config)
if [ -n "$a" ] && (( (a & 16) && (a & 128) && (a & 256) )); then ok "Component Config: Permanent + NeverOverwrite + 64-bit ($a)"; else fail "Component Config attributes: want 16|128|256 set, got '$a'"; fi
expect_eq "Component Agent: 64-bit, removed on uninstall" 256 "$(attrs Agent)"
expect_eq "Component Config's directory" DATADIR "$(grep '^Config|' <<<"$comps" | cut -d'|' -f3)"
dirs=$(table Directory)
for d in "INSTALLDIR|ProgramFiles64Folder|stackhand" "DATADIR|CommonAppDataFolder|stackhand" "HOOKSDIR|DATADIR|hooks.d" \
  "STATEDIR|DATADIR|state" "LOGDIR|DATADIR|logs"; do
  check "Directory: $d" grep -qxF -- "$d" <<<"$dirs"
done
for e in setup configure deploy undeploy shutdown health; do
  check "Directory + CreateFolder: hooks.d\\$e" grep -q "|HOOKSDIR|$e\$" <<<"$dirs"
done
expect_eq "CreateFolder rows (6 hook dirs, state, logs, the drop-in directory)" 9 "$(table CreateFolder | grep -c .)"
# The drop-in cfn-*.exe (stackhand.wxs, CfnDropIn): copies of stackhand.exe where
# aws-cfn-bootstrap puts its own, only when none of theirs is there (or ours are), the
# directory appended to the system PATH under the same condition.
check "Directory: Program Files\\Amazon\\cfn-bootstrap" grep -qxF -- "CFNBOOTSTRAPDIR|AMAZONDIR|cfn-bootstrap" <<<"$dirs"
check "Directory: Program Files\\Amazon" grep -qxF -- "AMAZONDIR|ProgramFiles64Folder|Amazon" <<<"$dirs"
expect_eq "Component CfnDropIn: 64-bit, in cfn-bootstrap, only without aws-cfn-bootstrap's files or with ours" \
  "CfnDropIn|{5B1C7D2E-3F4A-4B5C-8D6E-7F8091A2B3C4}|CFNBOOTSTRAPDIR|256|(NOT AWSCFN_CFN_INIT_64 AND NOT AWSCFN_CFN_INIT_32 AND NOT AWSCFN_CFN_SIGNAL_64 AND NOT AWSCFN_CFN_SIGNAL_32 AND NOT AWSCFN_CFN_GET_METADATA_64 AND NOT AWSCFN_CFN_GET_METADATA_32) OR STACKHAND_DROPIN|" \
  "$(grep '^CfnDropIn|' <<<"$comps")"
check "File table: no cfn-*.exe of their own (the MSI carries stackhand.exe once)" bash -c '! grep -q "|cfn-" <<<"$1"' _ "$files"
dups=$(table DuplicateFile | sort)
expect_eq "DuplicateFile: stackhand.exe copied as the three drop-ins" \
  "$(printf '%s\n' 'DropIn_CFN_GET_METADATA|CfnDropIn|stackhand.exe|cfn-get-metadata.exe|CFNBOOTSTRAPDIR' \
    'DropIn_CFN_INIT|CfnDropIn|stackhand.exe|cfn-init.exe|CFNBOOTSTRAPDIR' 'DropIn_CFN_SIGNAL|CfnDropIn|stackhand.exe|cfn-signal.exe|CFNBOOTSTRAPDIR')" "$dups"
search=$(table AppSearch)
sigs=$(table Signature)
locs=$(table DrLocator)
for n in cfn-init cfn-signal cfn-get-metadata; do
  k=$(tr a-z- A-Z_ <<<"$n")
  for b in 64 32; do
    d=ProgramFiles64Folder; [ $b = 32 ] && d=ProgramFilesFolder
    check "AppSearch: AWSCFN_${k}_$b finds $n.exe in [$d]Amazon\\cfn-bootstrap" bash -c \
      'grep -qxF "$1" <<<"$2" && grep -q "^$3|$4|" <<<"$5" && grep -qxF "$3||[$6]Amazon\\cfn-bootstrap|0" <<<"$7"' _ \
      "AWSCFN_${k}_$b|AwsCfn_${k}_$b" "$search" "AwsCfn_${k}_$b" "$n.exe" "$sigs" "$d" "$locs"
  done
done
check "AppSearch: STACKHAND_DROPIN is set when CfnDropIn (its GUID) is installed" bash -c \
  'grep -qxF "STACKHAND_DROPIN|StackhandDropIn" <<<"$1" && grep -qxF "StackhandDropIn|{5B1C7D2E-3F4A-4B5C-8D6E-7F8091A2B3C4}|0" <<<"$2"' _ "$search" "$(table CompLocator)"
expect_eq "Environment: the directory appended (last) to the system PATH, removed on uninstall, with CfnDropIn" \
  'CfnBootstrapPath|=-*PATH|[~];[CFNBOOTSTRAPDIR]|CfnDropIn' "$(table Environment)"
useq=$(table InstallUISequence)
for a in "AppSearch||50" "RemoveEnvironmentStrings||3300" "RemoveDuplicateFiles||3400" "DuplicateFiles||4210" "WriteEnvironmentStrings||5200"; do
  check "InstallExecuteSequence: $a" grep -qxF "$a" <<<"$(table InstallExecuteSequence)"
done
check "InstallUISequence: AppSearch||50" grep -qxF "AppSearch||50" <<<"$useq"
expect_eq "ServiceInstall" 'StackhandService|stackhand|stackhand agent|16|2|1|||||run --config "[CommonAppDataFolder]stackhand\stackhand.yaml"|Agent' \
  "$(table ServiceInstall | cut -d'|' -f1-12)"
# 163 = start on install (1) + stop on install (2) + stop on uninstall (32) + delete on uninstall (128)
expect_eq "ServiceControl: started on install, stopped and removed on uninstall, waited for" 'StackhandServiceControl|stackhand|163||1|Agent' \
  "$(table ServiceControl)"
seq=$(table InstallExecuteSequence)
for action in FindRelatedProducts RemoveExistingProducts StopServices DeleteServices InstallServices StartServices; do
  check "InstallExecuteSequence: $action" grep -q "^$action|" <<<"$seq"
done
up=$(table Upgrade)
check "Upgrade: every older or same version is replaced" grep -q '|513||WIX_UPGRADE_DETECTED$' <<<"$up"
check "Upgrade: downgrades are refused" grep -q 'NOT WIX_DOWNGRADE_DETECTED' <(table LaunchCondition)
check "summary: x64" grep -q '^Template: x64;1033' <(msiinfo suminfo "$msi")
mkdir -p "$tmp/msi"
(cd "$tmp/msi" && msiextract "$root/$msi" >/dev/null 2>&1) || (cd "$tmp/msi" && msiextract "$msi" >/dev/null)
exe=$(find "$tmp/msi" -name stackhand.exe | head -1)
check "the MSI's stackhand.exe is the built one" cmp -s "$exe" "$DIST/bin/windows_amd64/stackhand.exe"
check "the MSI's stackhand.yaml is the shipped default" cmp -s "$(find "$tmp/msi" -name stackhand.yaml | head -1)" packaging/stackhand.yaml
# Signing: a throwaway self-signed certificate, then osslsigncode's own check.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=stackhand package-test" \
  -keyout "$tmp/sign.key" -out "$tmp/sign.crt" >/dev/null 2>&1
if SIGN_CERT=$tmp/sign.crt SIGN_KEY=$tmp/sign.key packaging/windows/build-msi.sh "$DIST/bin/windows_amd64/stackhand.exe" \
  "$version" "$tmp/signed.msi" >"$tmp/sign.log" 2>&1 &&
  osslsigncode verify -CAfile "$tmp/sign.crt" -in "$tmp/signed.msi" >>"$tmp/sign.log" 2>&1; then
  ok "SIGN_CERT/SIGN_KEY: the MSI is Authenticode-signed and verifies"
else
  fail "signing:"; cat "$tmp/sign.log"
fi

echo
if [ $failures -gt 0 ]; then
  echo "package-test: $failures check(s) failed"
  exit 1
fi
echo "package-test: all checks passed"
