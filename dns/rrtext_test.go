package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/dns/dnsmessage"
)

// The query log used to render records with miekg/dns; these tests hold
// the dnsmessage rendering to the same text.

func TestFormatRRMatchesMiekg(t *testing.T) {
	records := []string{
		"example.test. 300 IN A 192.0.2.1",
		"example.test. 300 IN AAAA 2001:db8::1",
		"example.test. 300 IN AAAA ::ffff:192.0.2.7",
		"example.test. 300 IN AAAA ::",
		"alias.example.test. 60 IN CNAME target.example.test.",
		"example.test. 60 IN NS ns1.example.test.",
		"1.2.0.192.in-addr.arpa. 60 IN PTR host.example.test.",
		"example.test. 60 IN MX 10 mx.example.test.",
		"example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 4294967295",
		"_sip._tcp.example.test. 60 IN SRV 10 20 5060 sip.example.test.",
		`example.test. 60 IN TXT "v=spf1 -all"`,
		`example.test. 60 IN TXT "a \"quoted\" \\ word" "second" "\200\001;x"`,
		`example.test. 60 IN TXT ""`,
		`example.test. 60 IN HTTPS 1 . alpn="h3,h2" ipv4hint="192.0.2.1,192.0.2.2" ech="AEX+DQBBpQAgACBmFi3d" ipv6hint="2001:db8::1"`,
		`example.test. 60 IN HTTPS 0 target.example.test.`,
		`example.test. 60 IN HTTPS 1 . mandatory="alpn,port" alpn="h2" no-default-alpn="" port="8443"`,
		`example.test. 60 IN SVCB 1 svc.example.test. dohpath="/q{?dns}" key65000="opaque\032value"`,
		`example.test. 60 IN SVCB 2 . ohttp=""`,
		`a\ b.example.test. 60 IN A 192.0.2.3`,
		`\200x.example.test. 60 IN CNAME t\@x.example.test.`,
		`a\;b\(c\)d\"e\'f.example.test. 60 IN A 192.0.2.4`,
		`back\\slash.example.test. 60 IN A 192.0.2.5`,
		`example.test. 60 IN TYPE65280 \# 3 abcdef`,
		`example.test. 60 IN TYPE65280 \# 0`,
	}
	// Values that are awkward to write in a zone file.
	odd := &mdns.SVCB{
		Hdr:      mdns.RR_Header{Name: "odd.example.test.", Rrtype: mdns.TypeSVCB, Class: mdns.ClassINET, Ttl: 60},
		Priority: 3, Target: ".",
		Value: []mdns.SVCBKeyValue{
			&mdns.SVCBAlpn{Alpn: []string{"a,b", `c\d`, "e f", "g\"h;", "\x00\xff"}},
			&mdns.SVCBLocal{KeyCode: 65001, Data: []byte("x \"y\\z;\x01\xfe")},
		},
	}
	rrs := []mdns.RR{odd}
	for _, s := range records {
		rr, err := mdns.NewRR(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		rrs = append(rrs, rr)
	}
	for _, rr := range rrs {
		t.Run(rr.String(), func(t *testing.T) {
			want := mdnsFormatRR(rr)
			if _, ok := rr.(*mdns.RFC3597); ok {
				// miekg prints a header of its own for types it does not
				// know; the data part is the same.
				want = "example.test TYPE65280 " + rr.(*mdns.RFC3597).String()[len(`example.test.	60	CLASS1	TYPE65280	`):]
			}
			got := formatRR(viaWire(t, rr))
			if got != want {
				t.Errorf("formatRR\n got %q\nwant %q", got, want)
			}
		})
	}
}

// viaWire packs rr with miekg/dns and parses it back with dnsmessage.
func viaWire(t *testing.T, rr mdns.RR) dnsmessage.Resource {
	t.Helper()
	m := new(mdns.Msg)
	m.Response = true
	m.Answer = []mdns.RR{rr}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var dm dnsmessage.Message
	if err := dm.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if len(dm.Answers) != 1 {
		t.Fatalf("%d answers", len(dm.Answers))
	}
	return dm.Answers[0]
}

func TestNameTextMatchesMiekg(t *testing.T) {
	// Every byte value, in a label of its own, except the dot, which
	// dnsmessage refuses inside a label.
	for c := range 256 {
		if c == '.' {
			continue
		}
		raw := []byte{1, byte(c), 4, 't', 'e', 's', 't', 0}
		want, _, err := mdns.UnpackDomainName(raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		var n dnsmessage.Name
		n.Length = uint8(copy(n.Data[:], []byte{byte(c), '.', 't', 'e', 's', 't', '.'}))
		if got := nameText(n); got != want {
			t.Errorf("byte %d: got %q, want %q", c, got, want)
		}
	}
}

func TestTypeAndRcodeNamesMatchMiekg(t *testing.T) {
	for ty := range 1 << 16 {
		if got, want := typeName(dnsmessage.Type(ty)), mdns.Type(ty).String(); got != want {
			t.Errorf("type %d: got %q, want %q", ty, got, want)
		}
	}
	for rc := range 1 << 12 {
		if got, want := rcodeName(rc), mdns.RcodeToString[rc]; got != want {
			t.Errorf("rcode %d: got %q, want %q", rc, got, want)
		}
	}
	if got := rcodeName(-1); got != "" {
		t.Errorf("rcode -1: got %q", got)
	}
}
