package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/stackhand/stackhand/internal/atomicfile"
	"github.com/stackhand/stackhand/internal/trust"
)

// Store is where instances publish their fleet tags and read their peers'.
type Store interface {
	// Publish makes the instance's stackhand: tags equal to tags, writing nothing when
	// nothing changed.
	Publish(ctx context.Context, instanceID string, tags map[string]string) error
	// Read returns the stackhand: tags of each of ids that could be read; an id missing
	// from the result had none readable (ReadErrors may say why).
	Read(ctx context.Context, ids []string) (map[string]map[string]string, error)
	// SetHold turns the operator's hold of the group's rollouts on or off.
	SetHold(ctx context.Context, group string, on bool) error
}

// ReadErrors says why some peers' state could not be read, by instance id; a Store may
// return it from Read beside what it did read.
type ReadErrors map[string]string

// instanceIDRE is what an instance id may be to name a file in a fleet directory.
var instanceIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// LocalStore is mode local's Store: a directory several agents on one machine share,
// holding <instance-id>.json for each (its tags, written whole in one rename) and, while
// the operator holds rollouts, the file hold. The directory must be the agent's own and
// writable by no one else (the agents on one machine run as the same user): what its
// files say decides when an agent deploys.
type LocalStore struct {
	Dir string

	mu   sync.Mutex
	last map[string]map[string]string // what Publish wrote last, by instance id
}

// localFile is one instance's file.
type localFile struct {
	InstanceID string            `json:"instance_id"`
	Tags       map[string]string `json:"tags"`
	Updated    time.Time         `json:"updated"`
}

func (s *LocalStore) dir() (string, error) {
	return trust.OwnDir(s.Dir, "fleet directory (local.fleet_dir)", 0o755, os.Geteuid())
}

// Publish writes <Dir>/<instanceID>.json when tags differ from what it wrote last.
func (s *LocalStore) Publish(ctx context.Context, instanceID string, tags map[string]string) error {
	if !instanceIDRE.MatchString(instanceID) {
		return fmt.Errorf("instance id %q cannot name a file in the fleet directory", instanceID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.last[instanceID]; ok && maps.Equal(last, tags) {
		return nil
	}
	dir, err := s.dir()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(localFile{InstanceID: instanceID, Tags: tags, Updated: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, instanceID+".json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("publish to the fleet directory: %w", err)
	}
	if s.last == nil {
		s.last = map[string]map[string]string{}
	}
	s.last[instanceID] = maps.Clone(tags)
	return nil
}

// Read reads the files of ids; one missing or malformed makes that instance unreadable,
// said in the ReadErrors returned beside what was read.
func (s *LocalStore) Read(ctx context.Context, ids []string) (map[string]map[string]string, error) {
	dir, err := s.dir()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	bad := ReadErrors{}
	for _, id := range ids {
		if !instanceIDRE.MatchString(id) {
			bad[id] = "not an instance id"
			continue
		}
		p := filepath.Join(dir, id+".json")
		b, err := trust.ReadFile(p, p, os.Geteuid())
		if errors.Is(err, fs.ErrNotExist) {
			bad[id] = "nothing published yet"
			continue
		}
		if err != nil {
			bad[id] = err.Error()
			continue
		}
		var f localFile
		if err := json.Unmarshal(b, &f); err != nil {
			bad[id] = fmt.Sprintf("%s is not a published state (%v)", p, err)
			continue
		}
		if f.InstanceID != id {
			bad[id] = fmt.Sprintf("%s is not a published state (it names instance %q)", p, f.InstanceID)
			continue
		}
		t := map[string]string{}
		for k, v := range f.Tags {
			if strings.HasPrefix(k, Prefix) {
				t[k] = v
			}
		}
		out[id] = t
	}
	if len(bad) > 0 {
		return out, bad
	}
	return out, nil
}

func (e ReadErrors) Error() string {
	var parts []string
	for id, why := range e {
		parts = append(parts, id+": "+why)
	}
	return fmt.Sprintf("%d peers unreadable: %s", len(e), strings.Join(parts, "; "))
}

// SetHold creates or removes <Dir>/hold; group is not used (the directory is the group).
func (s *LocalStore) SetHold(ctx context.Context, group string, on bool) error {
	dir, err := s.dir()
	if err != nil {
		return err
	}
	p := filepath.Join(dir, "hold")
	if on {
		return atomicfile.Write(p, []byte("held by stackhand fleet hold at "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Held reports whether <Dir>/hold exists.
func (s *LocalStore) Held(ctx context.Context) (bool, error) {
	dir, err := s.dir()
	if err != nil {
		return false, err
	}
	_, err = os.Lstat(filepath.Join(dir, "hold"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
