package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stackhand/stackhand/internal/cfnpath"
)

// CfnHupDBFile is the file in cfn-hup's data directory where cfn-hup 1.4-25 and later keep,
// for each hook, the value it saw at its last successful pass (older versions used a Python
// shelve named metadata_db, which stackhand cannot read).
const CfnHupDBFile = "metadata_db.json"

// cfnHupDatetimeMarker is the key under which cfn-hup's JSON converter writes a datetime
// (a path of just Resources.<LogicalId> watches LastUpdatedTimestamp), its value the time
// formatted with the Python format "%Y-%m-%dT%H:%M:%S.%f" wrapped in double quotes.
// Source: cfnbootstrap/json_file_manager.py, Converter.
const cfnHupDatetimeMarker = "_datetime: special_serialization: not_regular_json_"

// ReadCfnHupDB reads cfn-hup's metadata_db.json in dir. It returns, by cfn-hup's key
// "<section>|<path>", the value in the canonical form the metadata source observes
// (cfnpath.Canonical; a time as an RFC 3339 string in UTC). Values cfn-hup treats as empty
// are left out, as cfn-hup's "not old_data" does. A missing file gives an error for which
// errors.Is(err, fs.ErrNotExist) holds.
func ReadCfnHupDB(dir string) (map[string][]byte, error) {
	path := filepath.Join(dir, CfnHupDBFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cfn-hup's record: %w", err)
	}
	var raw map[string]json.RawMessage
	if len(strings.TrimSpace(string(data))) == 0 {
		return map[string][]byte{}, nil // cfn-hup creates it empty before its first pass
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object as cfn-hup writes it (%v); move it aside and every cfn-hup hook's post.add fires once", path, err)
	}
	out := map[string][]byte{}
	for key, v := range raw {
		val, err := cfnHupDBValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %v; move the file aside and every cfn-hup hook's post.add fires once", path, key, err)
		}
		if !cfnpath.CfnHupEmpty(val) {
			out[key] = val
		}
	}
	return out, nil
}

// cfnHupDBValue turns one stored value into canonical JSON.
func cfnHupDBValue(v json.RawMessage) ([]byte, error) {
	var marked map[string]string
	if json.Unmarshal(v, &marked) == nil && len(marked) == 1 {
		if s, ok := marked[cfnHupDatetimeMarker]; ok {
			t, err := time.Parse(`"2006-01-02T15:04:05.999999"`, s)
			if err != nil {
				return nil, fmt.Errorf("time %s is not in cfn-hup's format", s)
			}
			return json.Marshal(t.UTC().Format(time.RFC3339Nano))
		}
	}
	return cfnpath.Canonical(v)
}
