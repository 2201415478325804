// Package packaging holds the files the stackhand packages install, embedded so the
// binary can write them itself (`stackhand service install`).
package packaging

import _ "embed"

// SystemdUnit is the systemd unit stackhand.service, as shipped in the .deb and .rpm
// packages: it runs /usr/bin/stackhand with /etc/stackhand/stackhand.yaml.
//
//go:embed systemd/stackhand.service
var SystemdUnit []byte
