#!/bin/sh
# stackhand .deb postrm / .rpm %postun.
#   deb: "remove" | "purge" | "upgrade" | "abort-install" | ...
#   rpm: 0 on an erase, 1 or more on an upgrade
# purge (deb only) removes the agent's state and logs; dpkg itself removes
# /etc/stackhand/stackhand.yaml. Hooks an administrator added under
# /etc/stackhand/hooks.d are left alone. rpm has no purge: after `rpm -e` or
# `dnf remove`, remove /var/lib/stackhand and /var/log/stackhand by hand.
set -e

case "$1" in
  remove|0|purge) ;;
  *) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
fi

if [ "$1" = purge ]; then
  rm -rf /var/lib/stackhand /var/log/stackhand
  # Left by an upgrade over an edited config (dpkg removes the conffile itself).
  rm -f /etc/stackhand/stackhand.yaml.dpkg-dist /etc/stackhand/stackhand.yaml.dpkg-old
fi
exit 0
