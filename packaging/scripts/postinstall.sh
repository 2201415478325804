#!/bin/sh
# stackhand .deb postinst / .rpm %post.
#   deb: "configure" [old-version]  (old-version empty on a first install)
#   rpm: 1 on a first install, 2 or more on an upgrade
# Enables the service on a first install and starts it where systemd runs; on an
# upgrade restarts it if it was running. Where systemd does not run (an image being
# built, a container, a chroot) it only enables the unit, which needs no running
# systemd: the agent starts at the machine's next boot.
# While cfn-hup runs it does not start the agent on a first install: both would run every
# cfn-hup action. The agent starts when the administrator stops cfn-hup (README,
# "Switching from cfn-hup"); it then adopts what cfn-hup already ran.
set -e

case "$1" in
  configure) if [ -n "$2" ]; then action=upgrade; else action=install; fi ;;
  1) action=install ;;
  [0-9]*) action=upgrade ;;
  *) exit 0 ;; # abort-upgrade, abort-remove, ...: nothing to undo
esac

# aws-cfn-bootstrap's names, as links to stackhand, which answers to them (argv[0]):
# /opt/aws/bin, where templates call them and Amazon Linux puts them, and /usr/bin, on
# every PATH, for a bare `cfn-init`. Only where no file of that name is (a dangling link
# counts): aws-cfn-bootstrap's own scripts are never replaced, and a pip-installed one in
# /usr/local/bin (which Debian policy leaves to the administrator) comes first on PATH.
# On an upgrade too, so an instance that dropped aws-cfn-bootstrap gets the links.
for dir in /opt/aws/bin /usr/bin; do
  for name in cfn-init cfn-signal cfn-get-metadata; do
    link=$dir/$name
    if [ ! -e "$link" ] && [ ! -L "$link" ]; then
      mkdir -p "$dir" && ln -s /usr/bin/stackhand "$link" ||
        echo "stackhand: could not link $link to /usr/bin/stackhand" >&2
    fi
  done
done

# The state and log directories are created by the package with these modes; set them
# again in case an older install or an administrator loosened them.
chmod 0700 /var/lib/stackhand 2>/dev/null || true
chmod 0750 /var/log/stackhand 2>/dev/null || true

command -v systemctl >/dev/null 2>&1 || {
  echo "stackhand: systemctl not found; start the agent with your init system: /usr/bin/stackhand run" >&2
  exit 0
}
running=false
[ -d /run/systemd/system ] && running=true # sd_booted(3): PID 1 is systemd

if $running; then
  systemctl daemon-reload || true
fi

# cfn_hup_running: cfn-hup's daemon writes its pid to /var/run/cfn-hup.pid (bin/cfn-hup).
cfn_hup_running() {
  for f in /run/cfn-hup.pid /var/run/cfn-hup.pid; do
    [ -r "$f" ] && pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 0
  done
  return 1
}

if [ "$action" = install ]; then
  # enable only writes symlinks; it works offline too.
  systemctl enable stackhand.service >/dev/null 2>&1 ||
    echo "stackhand: could not enable stackhand.service; run: systemctl enable stackhand" >&2
  if $running && cfn_hup_running; then
    echo "stackhand: cfn-hup is running, so stackhand is not started (each action would run twice)."
    echo "stackhand: to switch: stackhand validate && systemctl disable --now cfn-hup && systemctl start stackhand"
  elif $running; then
    systemctl start stackhand.service ||
      echo "stackhand: the service did not start; see: journalctl -u stackhand" >&2
  else
    echo "stackhand: systemd is not running here; stackhand.service is enabled and starts at next boot"
  fi
elif $running; then
  # Restart only a running agent: one an administrator stopped stays stopped.
  systemctl try-restart stackhand.service ||
    echo "stackhand: the service did not restart; see: journalctl -u stackhand" >&2
fi
exit 0
