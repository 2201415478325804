package service

import "time"

// The Windows service's recovery actions (what the Service Control Manager does when
// the agent's process ends without the service being stopped). They live here, apart
// from the Windows-only code that reads and writes them, so the decision of what to
// write is tested on every platform.

// recoveryStep is one recovery action: restart the service after Delay, or (Restart
// false) any other action, which stackhand never sets itself.
type recoveryStep struct {
	Restart bool
	Delay   time.Duration
}

// recoveryConfig is a service's recovery configuration as the Service Control Manager
// holds it.
type recoveryConfig struct {
	Steps []recoveryStep
	// ResetPeriod is how long without a failure resets the failure count.
	ResetPeriod time.Duration
	// OnNonCrashFailures makes the steps apply also when the service reports itself
	// stopped with a non-zero exit code, not only when its process dies.
	OnNonCrashFailures bool
}

// wantRecovery is stackhand's recovery: restart twice after 5 s, then after 30 s; the
// failure count resets after a day without failures.
var wantRecovery = recoveryConfig{
	Steps: []recoveryStep{
		{Restart: true, Delay: 5 * time.Second},
		{Restart: true, Delay: 5 * time.Second},
		{Restart: true, Delay: 30 * time.Second},
	},
	ResetPeriod:        24 * time.Hour,
	OnNonCrashFailures: true,
}

// recoveryPlan says what the agent, starting under the Service Control Manager, must
// write so that the service has stackhand's recovery, given what it has: the steps
// and reset period (setSteps), and the non-crash-failures flag (setFlag).
//
// A service with no recovery steps gets stackhand's: that is a service installed by
// the MSI (wixl cannot write failure actions) or by hand with sc.exe. Steps that
// differ from stackhand's were chosen by an administrator and are kept as they are,
// flag included. Nothing is written when everything is in place already, so a
// restart costs no write.
func recoveryPlan(have recoveryConfig) (setSteps, setFlag bool) {
	switch {
	case len(have.Steps) == 0:
		return true, !have.OnNonCrashFailures
	case sameSteps(have, wantRecovery):
		return false, !have.OnNonCrashFailures
	default:
		return false, false
	}
}

// sameSteps reports whether a and b have the same steps and reset period.
func sameSteps(a, b recoveryConfig) bool {
	if len(a.Steps) != len(b.Steps) || a.ResetPeriod != b.ResetPeriod {
		return false
	}
	for i := range a.Steps {
		if a.Steps[i] != b.Steps[i] {
			return false
		}
	}
	return true
}
