package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCfnHupDBReadsWhatCfnHupWrites(t *testing.T) {
	dir := t.TempDir()
	// As cfnbootstrap/json_file_manager.py writes it: json.dump of the values, a datetime
	// under its marker.
	rec := `{"release-hook|Resources.LC.Metadata.release": "v1", "init|Resources.LC.Metadata.AWS::CloudFormation::Init": {"b": 1, "a": [true]},` +
		` "gone|Resources.LC.Metadata.x": null, "empty|Resources.LC.Metadata.y": "",` +
		` "ts|Resources.LC": {"_datetime: special_serialization: not_regular_json_": "\"2026-01-02T03:04:05.250000\""}}`
	os.WriteFile(filepath.Join(dir, CfnHupDBFile), []byte(rec), 0o600)
	got, err := ReadCfnHupDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"release-hook|Resources.LC.Metadata.release":           `"v1"`,
		"init|Resources.LC.Metadata.AWS::CloudFormation::Init": `{"a":[true],"b":1}`,
		"ts|Resources.LC": `"2026-01-02T03:04:05.25Z"`,
	}
	if len(got) != len(want) {
		t.Errorf("got %d values, want %d (the empty ones left out): %q", len(got), len(want), got)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}

	if _, err := ReadCfnHupDB(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	os.WriteFile(filepath.Join(dir, CfnHupDBFile), []byte("{not json"), 0o600)
	if _, err := ReadCfnHupDB(dir); err == nil || !strings.Contains(err.Error(), "move it aside") {
		t.Errorf("corrupt file: %v, want an error saying what to do", err)
	}
}
