package lifecycle

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nsjail-net/nsjail-net/dns"
	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/state"
)

// jsonOutputs are the values every --json prints, by command.
var jsonOutputs = map[string]reflect.Type{
	"list":    reflect.TypeOf(Row{}),
	"inspect": reflect.TypeOf(Info{}),
	"gc":      reflect.TypeOf(launch.GCReport{}),
	"doctor":  reflect.TypeOf(Check{}),
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// jsonKeys lists the JSON keys of t and of the structs it holds, failing
// t for a field without a json tag.
func jsonKeys(tb testing.TB, t reflect.Type, seen map[reflect.Type]bool, keys map[string]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) || seen[t] {
		return
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			jsonKeys(tb, f.Type, seen, keys)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			tb.Errorf("%s.%s has no json key (its Go name would be the key)", t, f.Name)
			continue
		}
		keys[name] = t.String() + "." + f.Name
		jsonKeys(tb, f.Type, seen, keys)
	}
}

func TestJSONKeysAreSnakeCaseAndDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	for cmd, typ := range jsonOutputs {
		keys := map[string]string{}
		jsonKeys(t, typ, map[reflect.Type]bool{}, keys)
		var names []string
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !snakeCase.MatchString(k) {
				t.Errorf("%s --json: key %q (%s) is not snake_case", cmd, k, keys[k])
			}
			if !bytes.Contains(doc, []byte("`"+k+"`")) {
				t.Errorf("%s --json: key %q (%s) is not in docs/json.md", cmd, k, keys[k])
			}
		}
		if !bytes.Contains(doc, []byte("nsjail-net "+cmd+" --json")) {
			t.Errorf("docs/json.md has no section for `nsjail-net %s --json`", cmd)
		}
	}
}

func TestJSONEmptyListsAreArrays(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, launch.GCReport{}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "sandboxes": [],
  "leases": [],
  "names": [],
  "ports": [],
  "links": [],
  "rules": [],
  "files": []
}
`
	if b.String() != want {
		t.Errorf("gc --json with nothing removed:\n%s\nwant:\n%s", b.String(), want)
	}

	// inspect of a sandbox whose program is gone: every list still [].
	info, _ := Inspect(&state.Sandbox{ID: "0123abcd", Name: "gone", Created: time.Now()}, InspectOptions{})
	b.Reset()
	if err := WriteJSON(&b, info); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("null")) {
		t.Errorf("inspect --json has null:\n%s", b.String())
	}

	// A query record (inspect's dns_queries), answered with nothing.
	q, err := json.Marshal(dns.QueryRecord{Name: "example.test", Type: "A", Decision: dns.DecisionDenied, Rcode: "NXDOMAIN", Answers: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(q, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "name", "type", "decision", "answers", "rcode"} {
		if _, ok := m[k]; !ok {
			t.Errorf("dns query record lacks %q: %s", k, q)
		}
	}
	if a, ok := m["answers"].([]any); !ok || len(a) != 0 {
		t.Errorf("dns query record answers: %s, want []", q)
	}
}
