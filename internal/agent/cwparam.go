package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/clock"
	"github.com/stackhand/stackhand/internal/source"
	"github.com/stackhand/stackhand/internal/status"
)

// cwParamSource is the name under which status shows the watch on the Parameter Store
// parameter that holds the CloudWatch agent's configuration (--cwagent-config ssm:NAME).
const cwParamSource = "cwagent-config"

// paramWatch reads the parameter every interval and asks once per new version for a
// reload (changed), as SIGHUP does: the version differs from the one the running
// configuration was read from. A read that fails is shown in status and the log, and
// the agent goes on with what it runs; each read has the SSM client's deadline.
type paramWatch struct {
	SSM      source.SSMAPI
	Name     string
	Version  int64
	Interval time.Duration
	Clock    clock.Clock
	Status   *status.Registry
	Changed  func(reason string)
}

func (p *paramWatch) run(ctx context.Context) {
	asked := p.Version
	for clock.Sleep(ctx, p.Clock, p.Interval) {
		got, err := p.SSM.GetParameter(ctx, p.Name)
		if ctx.Err() != nil {
			return
		}
		switch {
		case awsenv.ErrorCode(err) == "ParameterNotFound":
			p.Status.Source(cwParamSource, fmt.Sprintf("ssm:%s no longer exists in Parameter Store; still running on version %d read before — restore it, or restart on a file", p.Name, p.Version), "")
			continue
		case err != nil:
			p.Status.Source(cwParamSource, fmt.Sprintf("ssm:%s: %s; still running on version %d read before", p.Name, awsenv.Explain(err, "ssm:GetParameter"), p.Version), "")
			continue
		}
		p.Status.Source(cwParamSource, "", fmt.Sprintf("running on ssm:%s version %d", p.Name, p.Version))
		if got.Version != asked {
			asked = got.Version
			p.Changed(fmt.Sprintf("the CloudWatch agent's configuration ssm:%s changed (version %d, running on %d): reloading, as on SIGHUP", p.Name, got.Version, p.Version))
		}
	}
}
