package lifecycle

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownFlag is returned by SplitArgs for a flag the command does not
// define.
var ErrUnknownFlag = errors.New("flag provided but not defined")

// FlagSetting is one flag found among the positional arguments.
type FlagSetting struct {
	Name  string // without dashes
	Value string // "true" for a boolean flag given without a value
}

// FlagKind says whether a command knows a flag name and whether it takes
// a value (a boolean flag does not).
type FlagKind func(name string) (known, takesValue bool)

// SplitArgs separates the flags from the positional arguments of a
// command, wherever the flags appear: "inspect lab1 --json" and "inspect
// --json lab1" give the same result. It accepts -f and --f, "--f=v" and
// "--f v"; "--" ends the flags, and everything after it is positional.
// A lone "-" is positional.
func SplitArgs(args []string, kind FlagKind) (positional []string, flags []FlagSetting, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, value, hasValue := strings.Cut(name, "=")
		known, takesValue := kind(name)
		if !known || name == "" {
			return nil, nil, fmt.Errorf("%w: %s", ErrUnknownFlag, a)
		}
		switch {
		case hasValue:
		case !takesValue:
			value = "true"
		case i+1 < len(args):
			i++
			value = args[i]
		default:
			return nil, nil, fmt.Errorf("flag needs an argument: %s", a)
		}
		flags = append(flags, FlagSetting{Name: name, Value: value})
	}
	return positional, flags, nil
}
