package lifecycle

import (
	"errors"
	"reflect"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	kinds := map[string]bool{"json": false, "signal": true, "s": true, "timeout": true}
	kind := func(n string) (bool, bool) { v, ok := kinds[n]; return ok, v }
	tests := []struct {
		name  string
		args  []string
		pos   []string
		flags []FlagSetting
		err   error
	}{
		{"flag after name", []string{"lab1", "--json"}, []string{"lab1"}, []FlagSetting{{"json", "true"}}, nil},
		{"flag before name", []string{"--json", "lab1"}, []string{"lab1"}, []FlagSetting{{"json", "true"}}, nil},
		{"value separate", []string{"lab1", "--signal", "INT"}, []string{"lab1"}, []FlagSetting{{"signal", "INT"}}, nil},
		{"value joined", []string{"lab1", "--timeout=1s", "-s", "KILL"}, []string{"lab1"}, []FlagSetting{{"timeout", "1s"}, {"s", "KILL"}}, nil},
		{"single dash long", []string{"-json", "lab1"}, []string{"lab1"}, []FlagSetting{{"json", "true"}}, nil},
		{"bool false", []string{"lab1", "--json=false"}, []string{"lab1"}, []FlagSetting{{"json", "false"}}, nil},
		{"double dash ends flags", []string{"lab1", "--", "--json"}, []string{"lab1", "--json"}, nil, nil},
		{"lone dash positional", []string{"-"}, []string{"-"}, nil, nil},
		{"nothing", nil, nil, nil, nil},
		{"unknown flag", []string{"lab1", "--bogus"}, nil, nil, ErrUnknownFlag},
		{"missing value", []string{"lab1", "--signal"}, nil, nil, errors.New("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pos, flags, err := SplitArgs(tt.args, kind)
			if tt.err != nil {
				if err == nil {
					t.Fatalf("SplitArgs(%q) = %q, %v; want an error", tt.args, pos, flags)
				}
				if errors.Is(tt.err, ErrUnknownFlag) && !errors.Is(err, ErrUnknownFlag) {
					t.Fatalf("error %v, want ErrUnknownFlag", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitArgs(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(pos, tt.pos) || !reflect.DeepEqual(flags, tt.flags) {
				t.Errorf("SplitArgs(%q) = %q, %v; want %q, %v", tt.args, pos, flags, tt.pos, tt.flags)
			}
		})
	}
}
