package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/net/dns/dnsmessage"
)

// Sizes of the wire format.
const (
	headerLen  = 12    // the fixed message header
	minMsgSize = 512   // the largest UDP message without EDNS0 (RFC 1035)
	maxMsgSize = 65535 // the largest message, over TCP
	// ednsSize is the UDP size announced in the resolver's own EDNS0
	// answers.
	ednsSize = 4096
)

// Opcodes, types and classes dnsmessage does not name.
const (
	opcodeQuery  dnsmessage.OpCode = 0
	opcodeNotify dnsmessage.OpCode = 4
	typeIXFR     dnsmessage.Type   = 251
)

// query is a client's query, parsed.
type query struct {
	raw      []byte // as received: forwarded as is, but for the ID
	header   dnsmessage.Header
	question dnsmessage.Question
	name     string                     // question name, presentation format
	opt      *dnsmessage.ResourceHeader // the EDNS0 OPT record, if any
}

// parseQuery reads a client's query and applies the usual server checks
// before the resolver sees it. It returns either the query or, for a
// message the resolver does not handle, an answer made of the header
// alone (FORMERR or NOTIMP), or neither: a message that is not a query at
// all gets no answer, since any answer could serve amplification.
func parseQuery(b []byte) (*query, *dnsmessage.Message) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || h.Response {
		return nil, nil
	}
	if h.OpCode != opcodeQuery && h.OpCode != opcodeNotify {
		return nil, headerOnly(h, dnsmessage.RCodeNotImplemented)
	}
	// Counts as the header states them: one question; at most an SOA in
	// the answer (NOTIFY) and authority (IXFR) sections; at most OPT and
	// TSIG in the additional section.
	qd, an, ns, ar := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]),
		binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:])
	if qd != 1 || an > 1 || ns > 1 || ar > 2 {
		return nil, headerOnly(h, dnsmessage.RCodeFormatError)
	}
	q, err := parseQueryBody(&p, b, h)
	if err != nil {
		return nil, headerOnly(h, dnsmessage.RCodeFormatError)
	}
	return q, nil
}

func parseQueryBody(p *dnsmessage.Parser, b []byte, h dnsmessage.Header) (*query, error) {
	questions, err := p.AllQuestions()
	if err != nil {
		return nil, fmt.Errorf("question section: %w", err)
	}
	if len(questions) != 1 {
		return nil, fmt.Errorf("question section: %d questions", len(questions))
	}
	question := questions[0]
	if _, err := p.AllAnswers(); err != nil {
		return nil, fmt.Errorf("answer section: %w", err)
	}
	if _, err := p.AllAuthorities(); err != nil {
		return nil, fmt.Errorf("authority section: %w", err)
	}
	extra, err := p.AllAdditionals()
	if err != nil {
		return nil, fmt.Errorf("additional section: %w", err)
	}
	q := &query{raw: b, header: h, question: question, name: nameText(question.Name)}
	if opt := findOPT(extra); opt != nil {
		q.opt = &opt.Header
	}
	return q, nil
}

// headerOnly is the answer to a message refused before it is parsed: the
// header alone, as common servers send it.
func headerOnly(req dnsmessage.Header, rcode dnsmessage.RCode) *dnsmessage.Message {
	return &dnsmessage.Message{Header: replyHeader(req, rcode)}
}

// replyHeader is the header of an answer to req.
func replyHeader(req dnsmessage.Header, rcode dnsmessage.RCode) dnsmessage.Header {
	h := dnsmessage.Header{ID: req.ID, Response: true, OpCode: req.OpCode, RCode: rcode}
	if req.OpCode == opcodeQuery {
		h.RecursionDesired = req.RecursionDesired
		h.CheckingDisabled = req.CheckingDisabled
	}
	return h
}

// reply builds an answer of our own with rcode, keeping the question and
// answering EDNS0 with EDNS0.
func reply(req *query, rcode dnsmessage.RCode) *dnsmessage.Message {
	m := &dnsmessage.Message{
		Header:    replyHeader(req.header, rcode),
		Questions: []dnsmessage.Question{req.question},
	}
	if req.opt != nil {
		var h dnsmessage.ResourceHeader
		// SetEDNS0 fails on nothing: its error is for the API's future.
		_ = h.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, req.opt.DNSSECAllowed())
		m.Additionals = []dnsmessage.Resource{{Header: h, Body: &dnsmessage.OPTResource{}}}
	}
	return m
}

// nxdomain is the answer to a denied name. It looks authoritative (AA set),
// as if the name did not exist, and carries no records at all.
func nxdomain(req *query) *dnsmessage.Message {
	m := reply(req, dnsmessage.RCodeNameError)
	m.Header.Authoritative = true
	return m
}

// udpSize is the largest UDP answer the client accepts.
func udpSize(req *query) int {
	if req.opt != nil && int(req.opt.Class) > minMsgSize {
		return int(req.opt.Class)
	}
	return minMsgSize
}

// findOPT returns the EDNS0 OPT record of an additional section: the last
// one, where it usually is, though RFC 6891 allows it anywhere.
func findOPT(extra []dnsmessage.Resource) *dnsmessage.Resource {
	for i := len(extra) - 1; i >= 0; i-- {
		if extra[i].Header.Type == dnsmessage.TypeOPT {
			return &extra[i]
		}
	}
	return nil
}

// rcode is m's response code, extended by its OPT record's upper bits.
func rcode(m *dnsmessage.Message) int {
	rc := int(m.Header.RCode)
	if opt := findOPT(m.Additionals); opt != nil {
		rc |= int(opt.Header.TTL>>24) << 4
	}
	return rc
}

// errTooLarge is returned by pack for a message longer than 64 KiB.
var errTooLarge = errors.New("dns message too large")

// pack packs m (names compressed) into at most limit bytes. A longer
// message loses its last records, the EDNS0 OPT record aside, and gets the
// TC bit: as many answer records as fit, then authority, then additional.
// m keeps all its records, but packing writes their length fields.
func pack(m *dnsmessage.Message, limit int) ([]byte, error) {
	b, err := m.AppendPack(make([]byte, 0, minMsgSize))
	if err != nil {
		return nil, err
	}
	if len(b) <= limit {
		return b, nil
	}
	if limit >= maxMsgSize {
		return nil, fmt.Errorf("%w: %d bytes", errTooLarge, len(b))
	}

	// The records in order, OPT set apart: a prefix of them is kept.
	var opt *dnsmessage.Resource
	rrs := make([]dnsmessage.Resource, 0, len(m.Answers)+len(m.Authorities)+len(m.Additionals))
	rrs = append(append(rrs, m.Answers...), m.Authorities...)
	for i := len(m.Additionals) - 1; i >= 0; i-- {
		if m.Additionals[i].Header.Type == dnsmessage.TypeOPT {
			opt = &m.Additionals[i]
			rrs = append(append(rrs, m.Additionals[:i]...), m.Additionals[i+1:]...)
			break
		}
	}
	if opt == nil {
		rrs = append(rrs, m.Additionals...)
	}
	nan, nns := len(m.Answers), len(m.Authorities)
	prefix := func(n int) dnsmessage.Message {
		t := dnsmessage.Message{Header: m.Header, Questions: m.Questions}
		t.Answers = rrs[:min(n, nan)]
		t.Authorities = rrs[min(n, nan):min(n, nan+nns)]
		t.Additionals = append([]dnsmessage.Resource(nil), rrs[min(n, nan+nns):n]...)
		if opt != nil {
			t.Additionals = append(t.Additionals, *opt)
		}
		t.Header.Truncated = m.Header.Truncated || n < len(rrs)
		return t
	}
	// Adding a record never shortens the message: search for the longest
	// prefix that fits. The one without any record is sent even if it
	// does not, as there is nothing left to drop.
	lo, hi := 0, len(rrs)-1 // the answer is in [lo, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		t := prefix(mid)
		if b, err = t.AppendPack(b[:0]); err != nil {
			return nil, err
		}
		if len(b) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	t := prefix(lo)
	return t.AppendPack(b[:0])
}

// readTCPMsg reads one message with its 2-byte length prefix (RFC 1035
// section 4.2.2).
func readTCPMsg(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// writeTCPMsg writes b with its 2-byte length prefix, in one write.
func writeTCPMsg(w io.Writer, b []byte) error {
	if len(b) > maxMsgSize {
		return fmt.Errorf("%w: %d bytes", errTooLarge, len(b))
	}
	buf := make([]byte, 2+len(b))
	binary.BigEndian.PutUint16(buf, uint16(len(b)))
	copy(buf[2:], b)
	_, err := w.Write(buf)
	return err
}
