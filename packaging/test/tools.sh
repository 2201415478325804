# tools.sh — sourced by the package scripts: need_tools "TOOL:DEBIAN-PACKAGE ..." makes
# sure each TOOL is in PATH. As root on Debian it installs what is missing with apt-get;
# anywhere else it fails with the command to run. It never skips a test.
need_tools() {
  local t missing=() cmd
  for t in $1; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "${0##*/}: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
      echo "${0##*/}: could not install the tools it needs; run: apt-get update && $cmd" >&2
      exit 1
    }
  else
    echo "${0##*/}: missing ${missing[*]}; on Debian, as root, run: apt-get update && $cmd" >&2
    exit 1
  fi
}
