package dns

import (
	"encoding/binary"
	"fmt"
	"testing"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/dns/dnsmessage"
)

func TestParseQuery(t *testing.T) {
	query := func(edit func(m *mdns.Msg)) []byte {
		m := new(mdns.Msg).SetQuestion("example.test.", mdns.TypeA)
		m.Id = 0x1234
		m.CheckingDisabled = true
		if edit != nil {
			edit(m)
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withCounts := func(b []byte, qd, an, ns, ar uint16) []byte {
		b = append([]byte(nil), b...)
		binary.BigEndian.PutUint16(b[4:], qd)
		binary.BigEndian.PutUint16(b[6:], an)
		binary.BigEndian.PutUint16(b[8:], ns)
		binary.BigEndian.PutUint16(b[10:], ar)
		return b
	}
	plain := query(nil)
	tests := []struct {
		name   string
		msg    []byte
		query  bool
		answer string // the header-only answer, "" for none
	}{
		{"query", plain, true, ""},
		{"EDNS0 query", query(func(m *mdns.Msg) { m.SetEdns0(1232, true) }), true, ""},
		{"notify", query(func(m *mdns.Msg) { m.Opcode = mdns.OpcodeNotify }), true, ""},
		{"short", plain[:11], false, ""},
		{"response", query(func(m *mdns.Msg) { m.Response = true }), false, ""},
		{"update", query(func(m *mdns.Msg) { m.Opcode = mdns.OpcodeUpdate }), false, "NOTIMP opcode 5 RD false CD false"},
		{"no question", withCounts(plain, 0, 0, 0, 0), false, "FORMERR opcode 0 RD true CD true"},
		{"two questions", withCounts(plain, 2, 0, 0, 0), false, "FORMERR opcode 0 RD true CD true"},
		{"two answers", withCounts(plain, 1, 2, 0, 0), false, "FORMERR opcode 0 RD true CD true"},
		{"three additionals", withCounts(plain, 1, 0, 0, 3), false, "FORMERR opcode 0 RD true CD true"},
		{"cut question", plain[:len(plain)-2], false, "FORMERR opcode 0 RD true CD true"},
		{"missing additional", withCounts(plain, 1, 0, 0, 1), false, "FORMERR opcode 0 RD true CD true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, rejected := parseQuery(tt.msg)
			if (q != nil) != tt.query {
				t.Fatalf("query %v, want %v", q != nil, tt.query)
			}
			if q != nil {
				if q.name != "example.test." || q.question.Type != dnsmessage.TypeA || q.header.ID != 0x1234 {
					t.Errorf("parsed %q %v id %#x", q.name, q.question.Type, q.header.ID)
				}
				return
			}
			got := ""
			if rejected != nil {
				h := rejected.Header
				got = fmt.Sprintf("%s opcode %d RD %v CD %v", rcodeName(int(h.RCode)), h.OpCode, h.RecursionDesired, h.CheckingDisabled)
				if h.ID != 0x1234 || !h.Response || len(rejected.Questions)+len(rejected.Additionals) != 0 {
					t.Errorf("header-only answer %+v", rejected)
				}
			}
			if got != tt.answer {
				t.Errorf("answer %q, want %q", got, tt.answer)
			}
		})
	}

	q, _ := parseQuery(query(func(m *mdns.Msg) { m.SetEdns0(1232, true) }))
	if q == nil || q.opt == nil || udpSize(q) != 1232 || !q.opt.DNSSECAllowed() {
		t.Errorf("EDNS0 query parsed as %+v", q)
	}
	r := reply(q, dnsmessage.RCodeRefused)
	if opt := findOPT(r.Additionals); opt == nil || opt.Header.Class != ednsSize || !opt.Header.DNSSECAllowed() {
		t.Errorf("reply to an EDNS0 query: additional section %+v", r.Additionals)
	}
}

// TestPackTruncatesLikeMiekg holds pack to what miekg/dns's Truncate
// made of the same answer: the same records kept and the same TC bit.
func TestPackTruncatesLikeMiekg(t *testing.T) {
	build := func(answers, extras int, edns bool) *mdns.Msg {
		m := new(mdns.Msg).SetQuestion("many.example.test.", mdns.TypeA)
		m.Response = true
		for i := range answers {
			rr, _ := mdns.NewRR(fmt.Sprintf("many.example.test. 60 IN A 198.51.100.%d", i))
			m.Answer = append(m.Answer, rr)
		}
		ns, _ := mdns.NewRR("example.test. 60 IN SOA ns.example.test. host.example.test. 1 2 3 4 5")
		m.Ns = append(m.Ns, ns)
		for i := range extras {
			rr, _ := mdns.NewRR(fmt.Sprintf("glue%d.example.test. 60 IN AAAA 2001:db8::%d", i, i))
			m.Extra = append(m.Extra, rr)
		}
		if edns {
			m.SetEdns0(4096, false)
		}
		return m
	}
	for _, c := range []struct {
		answers, extras int
		edns            bool
		limit           int
	}{
		{3, 0, false, 512},
		{40, 0, false, 512},
		{40, 0, true, 512},
		{40, 5, true, 1232},
		{25, 10, true, 512},
		{26, 10, false, 512},
		{100, 0, false, 512},
		{100, 20, true, 4096},
		{0, 40, true, 512},
	} {
		t.Run(fmt.Sprintf("%d+%d edns %v limit %d", c.answers, c.extras, c.edns, c.limit), func(t *testing.T) {
			m := build(c.answers, c.extras, c.edns)
			b, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			var dm dnsmessage.Message
			if err := dm.Unpack(b); err != nil {
				t.Fatal(err)
			}
			got, err := pack(&dm, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > c.limit {
				t.Errorf("%d bytes, limit %d", len(got), c.limit)
			}
			if len(dm.Answers) != c.answers {
				t.Errorf("pack changed its message: %d answers", len(dm.Answers))
			}
			m.Truncate(c.limit)
			var gm mdns.Msg
			if err := gm.Unpack(got); err != nil {
				t.Fatal(err)
			}
			if len(gm.Answer) != len(m.Answer) || len(gm.Ns) != len(m.Ns) || len(gm.Extra) != len(m.Extra) || gm.Truncated != m.Truncated {
				t.Errorf("got %d/%d/%d records TC %v, miekg %d/%d/%d TC %v",
					len(gm.Answer), len(gm.Ns), len(gm.Extra), gm.Truncated, len(m.Answer), len(m.Ns), len(m.Extra), m.Truncated)
			}
			if (gm.IsEdns0() != nil) != c.edns {
				t.Errorf("OPT record kept: %v, want %v", gm.IsEdns0() != nil, c.edns)
			}
		})
	}
}
