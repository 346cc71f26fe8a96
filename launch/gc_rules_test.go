package launch

import (
	"reflect"
	"testing"
)

func TestParseTaggedRule(t *testing.T) {
	tests := []struct {
		name, chain, line string
		id                string
		args              []string
	}{
		{
			name: "quoted tag", chain: "NSJNET-DNAT",
			line: `-A NSJNET-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "nsjail-net:0123abcd" -j DNAT --to-destination 10.213.0.5:80`,
			id:   "0123abcd",
			args: []string{"-p", "tcp", "-m", "tcp", "--dport", "8080", "-m", "comment", "--comment", "nsjail-net:0123abcd", "-j", "DNAT", "--to-destination", "10.213.0.5:80"},
		},
		{
			name: "unquoted tag", chain: "NSJNET-HOSTALLOW",
			line: `-A NSJNET-HOSTALLOW -s 10.213.0.9/32 -m comment --comment nsjail-net:ffff0000 -j ACCEPT`,
			id:   "ffff0000",
			args: []string{"-s", "10.213.0.9/32", "-m", "comment", "--comment", "nsjail-net:ffff0000", "-j", "ACCEPT"},
		},
		{name: "shared rule", chain: "NSJNET-FORWARD", line: `-A NSJNET-FORWARD -i nsjnet0 -o nsjnet0 -m comment --comment "nsjail-net" -j DROP`},
		{name: "someone else's", chain: "NSJNET-FORWARD", line: `-A NSJNET-FORWARD -m comment --comment "docker: nsjail-net:0123abcd" -j ACCEPT`},
		{name: "tag with spaces", chain: "NSJNET-FORWARD", line: `-A NSJNET-FORWARD -m comment --comment "nsjail-net:01 23" -j ACCEPT`},
		{name: "bad id", chain: "NSJNET-FORWARD", line: `-A NSJNET-FORWARD -m comment --comment "nsjail-net:-x" -j ACCEPT`},
		{name: "other chain", chain: "NSJNET-DNAT", line: `-A NSJNET-FORWARD -m comment --comment "nsjail-net:0123abcd" -j ACCEPT`},
		{name: "chain header", chain: "NSJNET-DNAT", line: `-N NSJNET-DNAT`},
		{name: "unterminated quote", chain: "NSJNET-DNAT", line: `-A NSJNET-DNAT -m comment --comment "nsjail-net:0123abcd -j ACCEPT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, args, ok := parseTaggedRule(tt.chain, tt.line)
			if ok != (tt.id != "") || id != tt.id || !reflect.DeepEqual(args, tt.args) {
				t.Errorf("parseTaggedRule = %q, %q, %v; want %q, %q", id, args, ok, tt.id, tt.args)
			}
		})
	}
}

func TestSplitRule(t *testing.T) {
	got, err := splitRule(`-A X -m comment --comment "a \"b\" \\c" -j ACCEPT`)
	want := []string{"-A", "X", "-m", "comment", "--comment", `a "b" \c`, "-j", "ACCEPT"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("splitRule = %q, %v; want %q", got, err, want)
	}
	if got, _ := splitRule(`--comment ""`); !reflect.DeepEqual(got, []string{"--comment", ""}) {
		t.Errorf("empty quoted word: %q", got)
	}
}

func TestVethOwner(t *testing.T) {
	for _, tt := range []struct {
		name, alias, id string
	}{
		{"nsj0123abcd", "nsjail-net:0123abcd", "0123abcd"},
		{"nsj0123abcd", "nsjail-net:ffff0000", ""},
		{"nsjnet0", "nsjail-net", ""},
		{"eth0", "nsjail-net:0123abcd", ""},
		{"nsj0123abcd", "", ""},
	} {
		id, ok := vethOwner(tt.name, tt.alias)
		if id != tt.id || ok != (tt.id != "") {
			t.Errorf("vethOwner(%q, %q) = %q, %v; want %q", tt.name, tt.alias, id, ok, tt.id)
		}
	}
}
