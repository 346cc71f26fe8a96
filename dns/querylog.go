package dns

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Decisions recorded in the query log.
const (
	DecisionAllowed = "allowed" // forwarded and answered
	DecisionDenied  = "denied"  // the name (or a CNAME target) is not allowed, or the query is refused
	DecisionError   = "error"   // malformed query, upstream failure, or Open failed
)

// queryLogSize is how many recent queries a resolver remembers.
const queryLogSize = 100

// QueryRecord is one query as the resolver saw and answered it.
// Its JSON form is what `inspect --json` shows in dns_queries.
type QueryRecord struct {
	Time     time.Time `json:"time"`
	Name     string    `json:"name"`     // the question, without the trailing dot
	Type     string    `json:"type"`     // "A", "AAAA", ...
	Decision string    `json:"decision"` // DecisionAllowed, DecisionDenied or DecisionError
	Answers  []string  `json:"answers"`  // answer records as "name TYPE data", e.g. "example.com A 192.0.2.1"; [] for none
	Rcode    string    `json:"rcode"`    // "NOERROR", "NXDOMAIN", ...
}

// queryEntry is what the ring holds: the raw answer records, rendered to
// text only when someone asks, to keep the per-query work small.
type queryEntry struct {
	time     time.Time
	name     string
	qtype    dnsmessage.Type
	decision string
	rcode    int
	answer   []dnsmessage.Resource
}

// queryLog is a ring buffer of the last queryLogSize queries.
type queryLog struct {
	mu   sync.Mutex
	ring [queryLogSize]queryEntry
	next int // index of the next write
	full bool
}

func (l *queryLog) add(e queryEntry) {
	l.mu.Lock()
	l.ring[l.next] = e
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// records returns the remembered queries, oldest first.
func (l *queryLog) records() []QueryRecord {
	l.mu.Lock()
	var entries []queryEntry
	if l.full {
		entries = append(entries, l.ring[l.next:]...)
	}
	entries = append(entries, l.ring[:l.next]...)
	l.mu.Unlock()
	out := make([]QueryRecord, len(entries))
	for i, e := range entries {
		out[i] = QueryRecord{
			Time:     e.time,
			Name:     strings.TrimSuffix(e.name, "."),
			Type:     typeName(e.qtype),
			Decision: e.decision,
			Rcode:    rcodeName(e.rcode),
			Answers:  []string{},
		}
		for _, rr := range e.answer {
			out[i].Answers = append(out[i].Answers, formatRR(rr))
		}
	}
	return out
}

// onceSet remembers names already logged, so that each denied name is
// logged once. It forgets everything when it grows past max, so that a
// program querying random names cannot grow it without bound.
type onceSet struct {
	mu   sync.Mutex
	seen map[string]struct{}
	max  int
}

// first reports whether name is seen for the first time.
func (s *onceSet) first(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[name]; ok {
		return false
	}
	if s.seen == nil || len(s.seen) >= s.max {
		s.seen = make(map[string]struct{})
	}
	s.seen[name] = struct{}{}
	return true
}
