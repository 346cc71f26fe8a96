package policy

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// The raw* types are what the TOML decoder fills. Tables are structs, so
// that DisallowUnknownFields reports unknown keys; leaves are `any`, so that
// validation (validate.go) type-checks them itself and says which key,
// where, and what it expected.
type rawProfile struct {
	Version     any          `toml:"version"`
	Description any          `toml:"description"`
	Extends     any          `toml:"extends"`
	Network     *rawNetwork  `toml:"network"`
	DNS         *rawDNS      `toml:"dns"`
	Firewall    *rawFirewall `toml:"firewall"`
	Publish     []rawPublish `toml:"publish"`
	Limits      *rawLimits   `toml:"limits"`
	Security    *rawSecurity `toml:"security"`
}

type rawNetwork struct {
	Mode any `toml:"mode"`
	IPv6 any `toml:"ipv6"`
}

type rawDNS struct {
	Servers any `toml:"servers"`
	Search  any `toml:"search"`
	Options any `toml:"options"`
	Allow   any `toml:"allow"`
}

type rawFirewall struct {
	Default        any       `toml:"default"`
	AllowHost      any       `toml:"allow_host"`
	AllowPrivate   any       `toml:"allow_private"`
	AllowSandboxes any       `toml:"allow_sandboxes"`
	LogBlocked     any       `toml:"log_blocked"`
	Rules          []rawRule `toml:"rules"`
}

type rawRule struct {
	Action  any `toml:"action"`
	Proto   any `toml:"proto"`
	To      any `toml:"to"`
	Ports   any `toml:"ports"`
	Comment any `toml:"comment"`
}

type rawPublish struct {
	HostPort    any `toml:"host_port"`
	SandboxPort any `toml:"sandbox_port"`
	Proto       any `toml:"proto"`
	HostIP      any `toml:"host_ip"`
}

type rawLimits struct {
	EgressRate  any `toml:"egress_rate"`
	IngressRate any `toml:"ingress_rate"`
	Connections any `toml:"connections"`
}

type rawSecurity struct {
	Seccomp  any `toml:"seccomp"`
	Hide     any `toml:"hide"`
	Keep     any `toml:"keep"`
	ClearEnv any `toml:"clearenv"`
}

// maxProfileSize bounds what we read from a profile file.
const maxProfileSize = 1 << 20

// Parse decodes and validates one profile file, without resolving
// "extends" (Extends is kept as written), and applies the defaults. name
// is the profile name, origin "builtin" or the file's path. Messages name
// the file as "<name>.toml" for built-ins and as origin otherwise.
//
// Every error is a *Error with a position, or several joined with
// errors.Join.
func Parse(name, origin string, data []byte) (*Profile, error) {
	file := origin
	if origin == OriginBuiltin {
		file = name + ".toml"
	}
	l, err := parseLayer(file, name, origin, data)
	if err != nil {
		return nil, err
	}
	p := l.p
	p.applyDefaults(l.set)
	if p.Extends == "" {
		if err := p.check(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// decodeRaw decodes data strictly. Unknown keys do not stop decoding:
// they come back next to the filled-in raw profile (see unknownKeyError).
// Any other decode error returns a nil profile.
func decodeRaw(file string, data []byte) (*rawProfile, []toml.DecodeError, error) {
	if len(data) > maxProfileSize {
		return nil, nil, &Error{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("file larger than %d bytes", maxProfileSize)}
	}
	var raw rawProfile
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&raw)
	if err == nil {
		return &raw, nil, nil
	}
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		return &raw, strict.Errors, nil
	}
	return nil, nil, decodeError(file, err)
}

// unknownKeyError renders a strict-mode error with a suggestion from the
// keys the table does have. The key path comes from the position index
// when it knows the key (go-toml's path lacks the enclosing keys of
// inline tables).
func unknownKeyError(ix *posIndex, de *toml.DecodeError) *Error {
	line, col := de.Position()
	key := de.Key()
	if path, ok := ix.keyPathAt(line, col); ok {
		key = splitPath(path)
	}
	e := &Error{File: ix.file, Line: max(line, 1), Col: max(col, 1)}
	if len(key) == 0 {
		e.Msg = strings.TrimPrefix(de.Error(), "toml: ")
		return e
	}
	name := key[len(key)-1]
	known := knownKeys(key[:len(key)-1])
	what := "key"
	if strings.Contains(de.Error(), "missing table") {
		what = "table"
	}
	e.Msg = fmt.Sprintf("unknown %s %q", what, name)
	if s := suggest(name, known); s != "" {
		e.Msg += s
	} else if len(known) > 0 {
		where := "at the top level"
		if len(key) > 1 {
			where = "in [" + strings.Join(key[:len(key)-1], ".") + "]"
		}
		e.Msg += fmt.Sprintf(" %s (allowed: %s)", where, strings.Join(known, ", "))
	}
	return e
}

// knownKeys lists the keys of the table at path, from the raw types' tags.
func knownKeys(path []string) []string {
	t := reflect.TypeOf(rawProfile{})
	for _, part := range path {
		f, ok := fieldByTag(t, part)
		if !ok {
			return nil
		}
		t = f.Type
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
	}
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, t.Field(i).Tag.Get("toml"))
	}
	return keys
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("toml") == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// decodeError turns a go-toml syntax or type error into an *Error.
func decodeError(file string, err error) *Error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return &Error{File: file, Line: 1, Col: 1, Msg: err.Error()}
	}
	line, col := de.Position()
	e := &Error{File: file, Line: max(line, 1), Col: max(col, 1), Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	// Type errors only happen for tables (leaves are `any`): reword
	// go-toml's "cannot decode TOML integer into struct field
	// policy.rawProfile.Network of type *policy.rawNetwork".
	if got, ok := strings.CutPrefix(e.Msg, "cannot decode TOML "); ok && len(de.Key()) > 0 {
		got, _, _ = strings.Cut(got, " ")
		e.Msg = fmt.Sprintf("%s must be %s, got %s", strings.Join(de.Key(), "."), expectedShape(de.Key()), got)
	}
	return e
}

// expectedShape says what the schema wants at key path.
func expectedShape(path []string) string {
	t := reflect.TypeOf(rawProfile{})
	for _, part := range path {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "a value"
		}
		f, ok := fieldByTag(t, part)
		if !ok {
			return "a value"
		}
		t = f.Type
	}
	switch t.Kind() {
	case reflect.Slice:
		return fmt.Sprintf("an array of tables ([[%s]])", strings.Join(path, "."))
	case reflect.Pointer, reflect.Struct:
		return fmt.Sprintf("a table ([%s])", strings.Join(path, "."))
	}
	return "a value"
}

// splitPath splits an index path into keys, dropping array indexes:
// "firewall.rules[0].portz" -> firewall, rules, portz.
func splitPath(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		if i := strings.IndexByte(part, '['); i >= 0 {
			part = part[:i]
		}
		out = append(out, part)
	}
	return out
}
