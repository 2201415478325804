package fleet

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseStep(t *testing.T) {
	tests := []struct {
		in      string
		want    Step
		wantErr string
	}{
		{in: "1", want: Step{Count: 1}},
		{in: " 3 ", want: Step{Count: 3}},
		{in: "10%", want: Step{Percent: 10}},
		{in: "12.5%", want: Step{Percent: 12.5}},
		{in: "100%", want: Step{Percent: 100}},
		{in: " 50 %", want: Step{Percent: 50}},
		{in: "0", wantErr: "at least 1"},
		{in: "-2", wantErr: "at least 1"},
		{in: "0%", wantErr: "more than 0%"},
		{in: "-5%", wantErr: "more than 0%"},
		{in: "101%", wantErr: "at most 100%"},
		{in: "NaN%", wantErr: "not a percentage"},
		{in: "Inf%", wantErr: "not a percentage"},
		{in: "ten%", wantErr: "not a percentage"},
		{in: "%", wantErr: "not a percentage"},
		{in: "", wantErr: "neither a count"},
		{in: "1.5", wantErr: "neither a count"},
		{in: "a", wantErr: "neither a count"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStep(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStep(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Errorf("ParseStep(%q): error %q does not quote the entry", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseStep(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestStepString(t *testing.T) {
	for _, tt := range []struct {
		step Step
		want string
	}{
		{Step{Count: 1}, "1"},
		{Step{Count: 25}, "25"},
		{Step{Percent: 10}, "10%"},
		{Step{Percent: 12.5}, "12.5%"},
		{Step{Percent: 100}, "100%"},
	} {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.step, got, tt.want)
		}
		back, err := ParseStep(tt.want)
		if err != nil || back != tt.step {
			t.Errorf("ParseStep(%q) = %+v, %v; want %+v back", tt.want, back, err, tt.step)
		}
	}
}

func steps(t *testing.T, in ...string) []Step {
	t.Helper()
	var out []Step
	for _, s := range in {
		st, err := ParseStep(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

func TestValidateWaves(t *testing.T) {
	tests := []struct {
		waves   []string
		wantErr []string // substrings; none: valid
	}{
		{waves: []string{"100%"}},
		{waves: []string{"1", "100%"}},
		{waves: []string{"1", "3", "100%"}},
		{waves: []string{"1", "10%", "50%", "100%"}},
		{waves: []string{"5", "2%", "100%"}}, // a count then a smaller-looking percentage is fine
		{waves: nil, wantErr: []string{"no waves"}},
		{waves: []string{"10%", "3", "100%"}, wantErr: []string{"entry 2 (3)", "count after a percentage"}},
		{waves: []string{"1", "1", "100%"}, wantErr: []string{"entry 2 (1)", "entry 1 (1)", "not more than"}},
		{waves: []string{"3", "2", "100%"}, wantErr: []string{"entry 2 (2)", "entry 1 (3)"}},
		{waves: []string{"1", "50%", "50%", "100%"}, wantErr: []string{"entry 3 (50%)", "entry 2 (50%)"}},
		{waves: []string{"1", "50%", "20%", "100%"}, wantErr: []string{"entry 3 (20%)", "entry 2 (50%)"}},
		{waves: []string{"1", "3"}, wantErr: []string{"last wave is 3", "100%"}},
		{waves: []string{"1", "50%"}, wantErr: []string{"last wave is 50%"}},
		{waves: []string{"1"}, wantErr: []string{"last wave is 1"}},
	}
	for _, tt := range tests {
		name := strings.Join(tt.waves, ",")
		if name == "" {
			name = "empty"
		}
		t.Run(name, func(t *testing.T) {
			err := ValidateWaves(steps(t, tt.waves...))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ValidateWaves(%v) = %v, want nil", tt.waves, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateWaves(%v) = nil, want an error", tt.waves)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ValidateWaves(%v) = %q, want it to contain %q", tt.waves, err, w)
				}
			}
		})
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		waves []string
		n     int
		want  []int
	}{
		{[]string{"1", "10%", "50%", "100%"}, 10, []int{1, 1, 5, 10}},
		{[]string{"1", "3", "100%"}, 10, []int{1, 3, 10}},
		{[]string{"1", "3", "100%"}, 2, []int{1, 2, 2}},           // counts capped at n
		{[]string{"5", "100%"}, 3, []int{3, 3}},                   // capped
		{[]string{"10%", "100%"}, 11, []int{2, 11}},               // 1.1 rounds up
		{[]string{"1%", "100%"}, 1, []int{1, 1}},                  // 0.01 rounds up
		{[]string{"12.5%", "25%", "100%"}, 8, []int{1, 2, 8}},     // exact
		{[]string{"33%", "66%", "100%"}, 100, []int{33, 66, 100}}, // exact, not 34
		{[]string{"10%", "20%", "30%", "100%"}, 1000, []int{100, 200, 300, 1000}},
		{[]string{"7", "5%", "100%"}, 20, []int{7, 7, 20}}, // never fewer than before
		{[]string{"1", "10%", "50%", "100%"}, 1, []int{1, 1, 1, 1}},
		{[]string{"1", "10%", "50%", "100%"}, 0, []int{0, 0, 0, 0}},
		{[]string{"100%"}, 0, []int{0}},
		{[]string{"100%"}, 7, []int{7}},
	}
	for _, tt := range tests {
		got := Sizes(steps(t, tt.waves...), tt.n)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Sizes(%v, %d) = %v, want %v", tt.waves, tt.n, got, tt.want)
		}
	}
}

// Sizes' invariants over many fleet sizes and valid waves.
func TestSizesInvariants(t *testing.T) {
	waveSets := [][]string{
		{"1", "10%", "50%", "100%"},
		{"1", "3", "100%"},
		{"2", "5", "25%", "100%"},
		{"12.5%", "33.3%", "66.7%", "100%"},
		{"100%"},
	}
	for _, ws := range waveSets {
		st := steps(t, ws...)
		if err := ValidateWaves(st); err != nil {
			t.Fatal(err)
		}
		for n := 0; n <= 200; n++ {
			got := Sizes(st, n)
			if len(got) != len(st) {
				t.Fatalf("Sizes(%v, %d) = %v: %d sizes for %d waves", ws, n, got, len(got), len(st))
			}
			if got[len(got)-1] != n {
				t.Fatalf("Sizes(%v, %d) = %v: the last is not n", ws, n, got)
			}
			for i, s := range got {
				if s < 0 || s > n {
					t.Fatalf("Sizes(%v, %d) = %v: size %d out of [0, n]", ws, n, got, s)
				}
				if i > 0 && s < got[i-1] {
					t.Fatalf("Sizes(%v, %d) = %v: decreasing", ws, n, got)
				}
				if n > 0 && s == 0 {
					t.Fatalf("Sizes(%v, %d) = %v: an empty wave over a non-empty fleet", ws, n, got)
				}
				if w := st[i]; w.Percent > 0 && i < len(st)-1 {
					// ceil: at least n*p/100, less than one more.
					exact := float64(n) * w.Percent / 100
					if float64(s) < exact-1e-9 || (i == 0 || got[i-1] < s) && float64(s) >= exact+1 {
						t.Fatalf("Sizes(%v, %d) = %v: wave %d (%s) is %d, n*p/100 = %g", ws, n, got, i+1, w, s, exact)
					}
				}
			}
		}
	}
}

// A percentage is ceil(n*p/100) exactly, without float error: 1.1% of 3000 is 33, though
// 3000*1.1/100 is 33.00000000000001 in float64. Percentages as written in the config,
// with one decimal, over fleets of up to 3000.
func TestSizesPercentExact(t *testing.T) {
	if got := Sizes([]Step{{Percent: 1.1}, {Percent: 100}}, 3000); !slices.Equal(got, []int{33, 3000}) {
		t.Errorf("Sizes([1.1%%, 100%%], 3000) = %v, want [33 3000]", got)
	}
	bad := 0
	for k := 1; k < 1000; k++ { // k/10 percent
		st, err := ParseStep(strconv.FormatFloat(float64(k)/10, 'f', -1, 64) + "%")
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 3000; n++ {
			want := (n*k + 999) / 1000 // ceil(n * k/10 / 100)
			if got := Sizes([]Step{st, {Percent: 100}}, n)[0]; got != want {
				if bad++; bad <= 5 {
					t.Errorf("Sizes([%s, 100%%], %d)[0] = %d, want %d", st, n, got, want)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("… %d wrong in all", bad)
	}
}
