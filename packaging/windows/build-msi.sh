#!/usr/bin/env bash
# build-msi.sh EXE VERSION OUT.msi — the stackhand MSI for windows/amd64, built on Linux
# from stackhand.wxs with wixl (Debian: msitools + wixl), deterministically.
#
#   EXE      the stackhand.exe to package
#   VERSION  the package version (1.2.0, 1.2.0+3.gabc1234, 0.0.0+gitabc1234); Windows
#            Installer sees its numeric X.Y.Z
#   OUT      the .msi to write
# Environment:
#   SOURCE_DATE_EPOCH     every time stamp in the MSI (default: the last commit's time)
#   SIGN_CERT, SIGN_KEY   optional: Authenticode-sign the exe and the MSI with
#                         osslsigncode (PEM or DER certificate chain and key;
#                         SIGN_PASS the key's passphrase, SIGN_TIMESTAMP_URL an RFC 3161
#                         time-stamping server). A signed MSI is not reproducible.
#
# What wixl 0.101 cannot do, done here instead:
#   - it ignores NeverOverwrite and Permanent on Component: set in the Component table
#     for the config's component, so the user's stackhand.yaml survives upgrades and
#     uninstalls;
#   - MajorUpgrade has no AllowSameVersionUpgrades: the Upgrade row is rewritten to
#     include the same version, so two builds that share X.Y.Z replace each other
#     instead of installing side by side;
#   - it has no DirectorySearch/FileSearch/ComponentSearch, CopyFile or Environment
#     element: the drop-in cfn-init.exe, cfn-signal.exe and cfn-get-metadata.exe (the
#     CfnDropIn component of stackhand.wxs, which says why and when) are added here as
#     rows of the Signature, DrLocator, CompLocator, AppSearch, DuplicateFile and
#     Environment tables, with the component's condition and the standard actions
#     that act on those tables at their standard sequence numbers;
#   - the package code and the summary's time stamps are random/now: the package code
#     is derived from the inputs, and wixl and msibuild run under faketime with the
#     clock stopped at SOURCE_DATE_EPOCH (-f and an absolute time: plain faketime lets
#     the clock run on, and a step that crosses a second stamps a different time).
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 EXE VERSION OUT.msi" >&2
  exit 2
fi
exe=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

missing=()
for t in wixl msibuild faketime; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-msi: missing ${missing[*]}; install with: apt-get install -y --no-install-recommends msitools wixl faketime" >&2
  exit 1
fi

epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}
msi_version=$(printf '%s\n' "$version" | grep -oE '^[0-9]+\.[0-9]+\.[0-9]+' || echo 0.0.0)

# guid NAME: a name-based GUID (the layout of a version-5 UUID, from SHA-1), upper case
# as Windows Installer wants it: the same name always gives the same GUID.
guid() {
  local h
  h=$(printf 'stackhand-msi:%s' "$1" | sha1sum | cut -c1-32 | tr a-f A-F)
  printf '%s-%s-5%s-8%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "${h:17:3}" "${h:20:12}"
}
upgrade_code=6F2C6C47-2B1E-4C1B-9E53-3D5B7A61C0A1 # as in stackhand.wxs; never change it

# dropin_sql: the queries, one a line, adding the drop-in cfn-*.exe to the MSI.
#   - Six file searches (aws-cfn-bootstrap's three names, in its 64-bit and 32-bit
#     directories) set AWSCFN_* to the path of a file found there.
#   - A component search sets STACKHAND_DROPIN when this package's own CfnDropIn is
#     installed (an earlier version being upgraded: AppSearch runs before the old
#     version's removal, which then deletes the copies).
#   - CfnDropIn installs when none of theirs is there, or when the ones there are ours.
#   - DuplicateFile copies stackhand.exe (File key stackhand.exe) under the three names;
#     Environment appends the directory to the system PATH ('=' set on install, '-'
#     removed on uninstall, '*' system-wide; "[~];" puts it last, after theirs).
dropin_sql() {
  local dropin_guid=5B1C7D2E-3F4A-4B5C-8D6E-7F8091A2B3C4 # as in stackhand.wxs
  echo 'CREATE TABLE `DrLocator` (`Signature_` CHAR(72) NOT NULL, `Parent` CHAR(72), `Path` CHAR(255), `Depth` SHORT PRIMARY KEY `Signature_`, `Parent`, `Path`)'
  echo 'CREATE TABLE `CompLocator` (`Signature_` CHAR(72) NOT NULL, `ComponentId` CHAR(38) NOT NULL, `Type` SHORT PRIMARY KEY `Signature_`)'
  echo 'CREATE TABLE `DuplicateFile` (`FileKey` CHAR(72) NOT NULL, `Component_` CHAR(72) NOT NULL, `File_` CHAR(72) NOT NULL, `DestName` CHAR(255) LOCALIZABLE, `DestFolder` CHAR(72) PRIMARY KEY `FileKey`)'
  echo 'CREATE TABLE `Environment` (`Environment` CHAR(72) NOT NULL, `Name` CHAR(255) NOT NULL LOCALIZABLE, `Value` CHAR(255) LOCALIZABLE, `Component_` CHAR(72) NOT NULL PRIMARY KEY `Environment`)'
  local cond="" name key bits dir
  for name in cfn-init cfn-signal cfn-get-metadata; do
    key=$(tr a-z- A-Z_ <<<"$name")
    for bits in 64 32; do
      dir=ProgramFiles64Folder
      [ "$bits" = 32 ] && dir=ProgramFilesFolder
      echo "INSERT INTO \`Signature\` (\`Signature\`, \`FileName\`) VALUES ('AwsCfn_${key}_$bits', '$name.exe')"
      echo "INSERT INTO \`DrLocator\` (\`Signature_\`, \`Path\`, \`Depth\`) VALUES ('AwsCfn_${key}_$bits', '[$dir]Amazon\\cfn-bootstrap', 0)"
      echo "INSERT INTO \`AppSearch\` (\`Property\`, \`Signature_\`) VALUES ('AWSCFN_${key}_$bits', 'AwsCfn_${key}_$bits')"
      cond+="${cond:+ AND }NOT AWSCFN_${key}_$bits"
    done
    echo "INSERT INTO \`DuplicateFile\` (\`FileKey\`, \`Component_\`, \`File_\`, \`DestName\`, \`DestFolder\`) VALUES ('DropIn_$key', 'CfnDropIn', 'stackhand.exe', '$name.exe', 'CFNBOOTSTRAPDIR')"
  done
  echo "INSERT INTO \`CompLocator\` (\`Signature_\`, \`ComponentId\`, \`Type\`) VALUES ('StackhandDropIn', '{$dropin_guid}', 0)"
  echo "INSERT INTO \`AppSearch\` (\`Property\`, \`Signature_\`) VALUES ('STACKHAND_DROPIN', 'StackhandDropIn')"
  echo "UPDATE \`Component\` SET \`Condition\` = '($cond) OR STACKHAND_DROPIN' WHERE \`Component\` = 'CfnDropIn'"
  echo "INSERT INTO \`Environment\` (\`Environment\`, \`Name\`, \`Value\`, \`Component_\`) VALUES ('CfnBootstrapPath', '=-*PATH', '[~];[CFNBOOTSTRAPDIR]', 'CfnDropIn')"
  local seq
  for seq in InstallExecuteSequence InstallUISequence; do
    echo "INSERT INTO \`$seq\` (\`Action\`, \`Sequence\`) VALUES ('AppSearch', 50)"
  done
  echo "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('RemoveEnvironmentStrings', 3300)"
  echo "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('RemoveDuplicateFiles', 3400)"
  echo "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('DuplicateFiles', 4210)"
  echo "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('WriteEnvironmentStrings', 5200)"
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$exe" "$stage/stackhand.exe"
cp "$root/packaging/stackhand.yaml" "$stage/stackhand.yaml"
cp "$here/stackhand.wxs" "$stage/"
chmod 0644 "$stage"/*

if [ -n "${SIGN_CERT:-}" ] || [ -n "${SIGN_KEY:-}" ]; then
  : "${SIGN_CERT:?SIGN_KEY is set: set SIGN_CERT too}" "${SIGN_KEY:?SIGN_CERT is set: set SIGN_KEY too}"
  command -v osslsigncode >/dev/null || {
    echo "build-msi: SIGN_CERT is set but osslsigncode is missing; install with: apt-get install -y osslsigncode" >&2
    exit 1
  }
  sign() { # sign IN OUT
    local args=(sign -certs "$SIGN_CERT" -key "$SIGN_KEY" -n "stackhand agent" -i https://github.com/stackhand/stackhand -h sha256)
    [ -n "${SIGN_PASS:-}" ] && args+=(-pass "$SIGN_PASS")
    [ -n "${SIGN_TIMESTAMP_URL:-}" ] && args+=(-ts "$SIGN_TIMESTAMP_URL")
    osslsigncode "${args[@]}" -in "$1" -out "$2" >/dev/null
  }
  sign "$stage/stackhand.exe" "$stage/stackhand.signed.exe"
  mv "$stage/stackhand.signed.exe" "$stage/stackhand.exe"
fi
touch -d "@$epoch" "$stage"/* # the cabinet stores the files' times

product_code=$(guid "product:$version")
package_code=$(guid "package:$version:$(sha256sum "$stage/stackhand.exe" "$stage/stackhand.yaml" "$stage/stackhand.wxs" | cut -d' ' -f1 | tr '\n' :)")
fake=$(TZ=UTC date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S')

(
  cd "$stage"
  export TZ=UTC
  faketime -f "$fake" wixl -a x64 -D Version="$msi_version" -D ProductCode="$product_code" \
    -D PackageCode="$package_code" -o stackhand.msi stackhand.wxs
  # msidbComponentAttributes64bit (256) | NeverOverwrite (128) | Permanent (16)
  faketime -f "$fake" msibuild stackhand.msi -q "UPDATE Component SET Attributes = 400 WHERE Component = 'Config'"
  # msidbUpgradeAttributesMigrateFeatures (1) | VersionMaxInclusive (512)
  faketime -f "$fake" msibuild stackhand.msi -q "DELETE FROM Upgrade WHERE ActionProperty = 'WIX_UPGRADE_DETECTED'"
  faketime -f "$fake" msibuild stackhand.msi -q "INSERT INTO Upgrade (UpgradeCode, VersionMax, Attributes, ActionProperty) VALUES ('{$upgrade_code}', '$msi_version', 513, 'WIX_UPGRADE_DETECTED')"
  dropin_sql | while IFS= read -r q; do faketime -f "$fake" msibuild stackhand.msi -q "$q"; done
  faketime -f "$fake" msibuild stackhand.msi -s "stackhand agent $version" stackhand "x64;1033" "{$package_code}"
) 2> >(grep -v -e '^$' -e 'GLib-GIO-CRITICAL' >&2)

if [ -n "${SIGN_CERT:-}" ]; then
  sign "$stage/stackhand.msi" "$stage/stackhand.signed.msi"
  mv "$stage/stackhand.signed.msi" "$stage/stackhand.msi"
fi
mkdir -p "$(dirname "$out")"
mv "$stage/stackhand.msi" "$out"
echo "built $out (MSI version $msi_version)"
