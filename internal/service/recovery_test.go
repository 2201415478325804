package service

import (
	"testing"
	"time"
)

func TestRecoveryPlan(t *testing.T) {
	restart := func(d time.Duration) recoveryStep { return recoveryStep{Restart: true, Delay: d} }
	ours := wantRecovery.Steps
	tests := []struct {
		name              string
		have              recoveryConfig
		wantSteps, wantFl bool
	}{
		{"installed by the MSI: nothing set", recoveryConfig{}, true, true},
		{"no steps but the flag set", recoveryConfig{OnNonCrashFailures: true}, true, false},
		{"ours, complete", wantRecovery, false, false},
		{"ours without the flag", recoveryConfig{Steps: ours, ResetPeriod: 24 * time.Hour}, false, true},
		{"an administrator's steps", recoveryConfig{Steps: []recoveryStep{restart(time.Minute)}, ResetPeriod: time.Hour}, false, false},
		{"an administrator's reboot step", recoveryConfig{Steps: []recoveryStep{{Restart: false, Delay: 5 * time.Second}}}, false, false},
		{"ours with another reset period", recoveryConfig{Steps: ours, ResetPeriod: time.Hour}, false, false},
		{"ours with one step more", recoveryConfig{Steps: append(append([]recoveryStep{}, ours...), restart(time.Minute)), ResetPeriod: 24 * time.Hour}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, flag := recoveryPlan(tt.have)
			if steps != tt.wantSteps || flag != tt.wantFl {
				t.Errorf("recoveryPlan(%+v) = steps %v, flag %v; want %v, %v", tt.have, steps, flag, tt.wantSteps, tt.wantFl)
			}
		})
	}
}

// After a plan is carried out, the next start finds nothing to do.
func TestRecoveryPlanIdempotent(t *testing.T) {
	for _, have := range []recoveryConfig{{}, {OnNonCrashFailures: true}, {Steps: wantRecovery.Steps, ResetPeriod: wantRecovery.ResetPeriod}} {
		steps, flag := recoveryPlan(have)
		if steps {
			have.Steps, have.ResetPeriod = wantRecovery.Steps, wantRecovery.ResetPeriod
		}
		if flag {
			have.OnNonCrashFailures = true
		}
		if s, f := recoveryPlan(have); s || f {
			t.Errorf("after applying the plan, recoveryPlan(%+v) = %v, %v; want nothing to do", have, s, f)
		}
	}
}
