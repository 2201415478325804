package config

import (
	"testing"
	"time"

	"github.com/stackhand/stackhand/internal/fleet"
)

// rollout: on a watch rule and on an app (whose implicit rules carry it), with its waves
// parsed, bake and max_failed; local.fleet_dir resolved beside the config.
func TestRolloutParse(t *testing.T) {
	c, err := Parse([]byte(`mode: local
local: {dir: local, fleet_dir: fleet}
resource: Web
watch:
  - metadata: release
    rollout: {waves: [1, 10%, 100%], bake: 2m, max_failed: 1}
apps:
  - name: web
    revision: {metadata: web_release}
    source: /b/{revision}.tgz
    deploy_to: /srv/web
    rollout: {waves: [2, 100%]}
`), "/etc/stackhand/stackhand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Local.FleetDir != "/etc/stackhand/fleet" {
		t.Errorf("fleet_dir %q", c.Local.FleetDir)
	}
	r := c.Watch[0].Rollout
	if r == nil {
		t.Fatal("watch[0] has no rollout")
	}
	got := r.Fleet()
	want := fleet.Rollout{Waves: []fleet.Step{{Count: 1}, {Percent: 10}, {Percent: 100}}, Bake: 2 * time.Minute, MaxFailed: 1}
	if len(got.Waves) != 3 || got.Waves[0] != want.Waves[0] || got.Waves[1] != want.Waves[1] || got.Waves[2] != want.Waves[2] || got.Bake != want.Bake || got.MaxFailed != 1 {
		t.Errorf("rollout %+v, want %+v", got, want)
	}
	for _, rule := range c.Watch[1:] {
		if rule.App != "web" || rule.Rollout == nil || len(rule.Rollout.Steps) != 2 || rule.Rollout.Steps[0] != (fleet.Step{Count: 2}) {
			t.Errorf("implicit rule %s: rollout %+v", rule.Name, rule.Rollout)
		}
	}
}

func TestRolloutErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []problem
	}{
		{"not ending at 100%", "watch:\n  - tag: R\n    rollout: {waves: [1, 50%]}\n", []problem{{3, "watch[0].rollout.waves: "}}},
		{"a bad entry", "watch:\n  - tag: R\n    rollout:\n      waves: [1, 0, 100%]\n", []problem{{4, "watch[0].rollout.waves[1]: "}}},
		{"no waves", "watch:\n  - tag: R\n    rollout: {bake: 1m}\n", []problem{{3, "watch[0].rollout has no waves"}}},
		{"negative", "watch:\n  - tag: R\n    rollout: {waves: [100%], max_failed: -1}\n", []problem{{3, "watch[0].rollout.max_failed must not be negative"}}},
		{"mode local without fleet_dir", "mode: local\nlocal: {dir: /l}\nwatch:\n  - tag: R\n    rollout: {waves: [100%]}\n",
			[]problem{{2, "watch rule tag:R has a rollout but local.fleet_dir is not set"}}},
		{"fleet_dir in mode aws", "local: {fleet_dir: /f}\n", []problem{{1, "local.fleet_dir is set but mode is aws"}}},
		{"app", "apps:\n  - name: w\n    revision: {tag: R}\n    source: /b/{revision}\n    deploy_to: /srv/w\n    rollout: {waves: [10%, 1, 100%]}\n",
			[]problem{{6, "apps[0].rollout.waves: "}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "stackhand.yaml")
			checkProblems(t, err, "stackhand.yaml", tt.want)
		})
	}
}
