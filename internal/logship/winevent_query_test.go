package logship

import (
	"reflect"
	"testing"
)

func TestWinEventLevelNumbers(t *testing.T) {
	got, err := WinEventLevelNumbers([]string{"error", "INFORMATION", "Critical", "ERROR"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("levels = %v, want %v", got, want)
	}
	if _, err := WinEventLevelNumbers([]string{"DEBUG"}); err == nil {
		t.Error("unknown level DEBUG accepted")
	}
	for n, name := range map[int]string{0: "INFORMATION", 1: "CRITICAL", 2: "ERROR", 3: "WARNING", 4: "INFORMATION", 5: "VERBOSE", 9: "9"} {
		if got := WinEventLevelName(n); got != name {
			t.Errorf("WinEventLevelName(%d) = %q, want %q", n, got, name)
		}
	}
}

func TestWinEventQuery(t *testing.T) {
	cases := []struct {
		levels, ids []int
		after       uint64
		want        string
	}{
		{nil, nil, 0, "*"},
		{nil, nil, 42, "*[System[EventRecordID>42]]"},
		{[]int{2}, nil, 0, "*[System[(Level=2)]]"},
		{[]int{0, 2, 4}, nil, 7, "*[System[EventRecordID>7 and (Level=0 or Level=2 or Level=4)]]"},
		{nil, []int{7036, 7040}, 0, "*[System[(EventID=7036 or EventID=7040)]]"},
		{[]int{2}, []int{1000}, 9, "*[System[EventRecordID>9 and (Level=2) and (EventID=1000)]]"},
	}
	for _, c := range cases {
		if got := WinEventQuery(c.levels, c.ids, c.after); got != c.want {
			t.Errorf("WinEventQuery(%v, %v, %d) = %q, want %q", c.levels, c.ids, c.after, got, c.want)
		}
	}
}
