#!/bin/sh
# stackhand .deb prerm / .rpm %preun.
#   deb: "remove" | "upgrade" new-version | "deconfigure" | "failed-upgrade"
#   rpm: 0 on an erase, 1 or more on an upgrade (the old package's %preun)
# On removal removes the cfn-* links postinstall made, and stops and disables the service. The stop is a plain `systemctl stop`: the
# agent lets a running hook finish within its grace, then ends the hook's process tree
# (TimeoutStopSec in the unit bounds the whole stop). An upgrade leaves it running; the
# new package's postinst restarts it.
set -e

case "$1" in
  remove|0) ;;
  *) exit 0 ;;
esac

# The links postinstall made: only those that still point at stackhand (one replaced
# by aws-cfn-bootstrap since is its own now).
for dir in /opt/aws/bin /usr/bin; do
  for name in cfn-init cfn-signal cfn-get-metadata; do
    link=$dir/$name
    if [ -L "$link" ] && [ "$(readlink "$link")" = /usr/bin/stackhand ]; then
      rm -f "$link"
    fi
  done
done
rmdir /opt/aws/bin /opt/aws 2>/dev/null || true # only when nothing else is there

command -v systemctl >/dev/null 2>&1 || exit 0
if [ -d /run/systemd/system ]; then
  systemctl stop stackhand.service || true
fi
# Remove the enablement symlinks while the unit file still exists.
systemctl disable stackhand.service >/dev/null 2>&1 || true
exit 0
