#!/bin/sh
# stackhand .deb prerm / .rpm %preun.
#   deb: "remove" | "upgrade" new-version | "deconfigure" | "failed-upgrade"
#   rpm: 0 on an erase, 1 or more on an upgrade (the old package's %preun)
# On removal stops and disables the service. The stop is a plain `systemctl stop`: the
# agent lets a running hook finish within its grace, then ends the hook's process tree
# (TimeoutStopSec in the unit bounds the whole stop). An upgrade leaves it running; the
# new package's postinst restarts it.
set -e

case "$1" in
  remove|0) ;;
  *) exit 0 ;;
esac

command -v systemctl >/dev/null 2>&1 || exit 0
if [ -d /run/systemd/system ]; then
  systemctl stop stackhand.service || true
fi
# Remove the enablement symlinks while the unit file still exists.
systemctl disable stackhand.service >/dev/null 2>&1 || true
exit 0
