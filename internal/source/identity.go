package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackhand/stackhand/internal/event"
)

// LocalIdentity reads this instance's identity from instance.json. Missing fields get
// invented defaults, so an empty directory is a valid instance.
type LocalIdentity struct {
	Local
	// Override holds values from the config (stack, region) that win over the file.
	Override event.Instance
}

// Name returns "identity".
func (LocalIdentity) Name() string { return "identity" }

// Read returns the identity once.
func (s LocalIdentity) Read() (event.Instance, error) {
	var in event.Instance
	b, err := s.readLocal(InstanceFile)
	if err == nil && b != nil {
		err = s.decodeLocal(InstanceFile, b, &in)
	}
	host, _ := os.Hostname()
	def := event.Instance{
		InstanceID:       "i-0000000000000local",
		Region:           "local",
		AvailabilityZone: "local-1a",
		PrivateIP:        "127.0.0.1",
		InstanceType:     "local",
		Hostname:         host,
	}
	fillString(&in.InstanceID, def.InstanceID)
	fillString(&in.Region, def.Region)
	fillString(&in.AvailabilityZone, def.AvailabilityZone)
	fillString(&in.PrivateIP, def.PrivateIP)
	fillString(&in.InstanceType, def.InstanceType)
	fillString(&in.Hostname, def.Hostname)
	if s.Override.Stack != "" {
		in.Stack = s.Override.Stack
	}
	if s.Override.Region != "" {
		in.Region = s.Override.Region
	}
	if s.Override.LogicalID != "" {
		in.LogicalID = s.Override.LogicalID
	}
	return in, err
}

func fillString(p *string, def string) {
	if strings.TrimSpace(*p) == "" {
		*p = def
	}
}

// Run reports the identity at start and whenever instance.json changes. An unreadable file
// is reported as an error without an identity: the defaults would be another instance id,
// and the engine would start over as a new instance (setup runs again) because of a typo.
//
// instance.json gone while the agent runs (deleted before it is written again) keeps the
// last identity: only another instance_id is another instance.
func (s LocalIdentity) Run(ctx context.Context, emit func(Update)) error {
	var last *event.Instance
	watchDir(ctx, s.clock(), s.Dir, isName(InstanceFile), s.interval(), func() {
		if _, err := os.Stat(filepath.Join(s.Dir, InstanceFile)); errors.Is(err, fs.ErrNotExist) && last != nil {
			emit(Update{Source: s.Name(), Identity: last, Err: fmt.Errorf("%s is gone: keeping instance %s; write it again (another instance_id would be a new instance, with setup)",
				filepath.Join(s.Dir, InstanceFile), last.InstanceID)})
			return
		}
		in, err := s.Read()
		if err != nil {
			emit(Update{Source: s.Name(), Err: err})
			return
		}
		last = &in
		emit(Update{Source: s.Name(), Identity: &in})
	})
	return nil
}
