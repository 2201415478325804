package service

import (
	"strings"
	"testing"
)

func TestControlUnknownAction(t *testing.T) {
	err := Control("restart", Options{})
	if err == nil {
		t.Fatal("Control(restart) = nil, want an error")
	}
	const want = `unknown service action "restart": want one of install, uninstall, start, stop, status`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	for _, a := range Actions {
		if !strings.Contains(err.Error(), a) {
			t.Errorf("error %q does not list %q", err, a)
		}
	}
}
