package stage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The wire format of the sync socket. A message is one frame: its length
// (4 bytes, big-endian), then its fields, each a NUL-terminated string: the
// message type, then that type's fields in a fixed order (putConfig,
// getConfig). Numbers are decimal, booleans "0" or "1", a list is its
// length followed by its items. No field may hold a NUL byte, as nothing
// that reaches execve, a path or a hostname can.
//
// Not JSON: the init stage decodes one config per launch, and the first use
// of encoding/json (reflection, its type caches) cost it about 60 page
// faults, 1-2 ms of every launch on a VM where a fault costs tens of
// microseconds.

// maxFrame bounds a message (the program's argv and environment dominate).
const maxFrame = 16 << 20

// errNUL marks a field that cannot travel because it holds a NUL byte.
var errNUL = errors.New("contains a NUL byte")

// EncodeMsg frames m for the sync socket. It fails on a field holding a
// NUL byte and names that field.
func EncodeMsg(m Message) ([]byte, error) {
	w := &wireWriter{b: make([]byte, 4, 256)}
	w.str("type", m.Type)
	switch m.Type {
	case MsgConfig:
		if m.Config == nil {
			return nil, errors.New("config message without a config")
		}
		putConfig(w, m.Config)
	case MsgError:
		w.str("step", m.Step)
		w.num(m.Errno)
		w.str("msg", m.Msg)
	case MsgExited:
		w.num(m.Status)
	}
	if w.err != nil {
		return nil, fmt.Errorf("encoding the %s message: %w", m.Type, w.err)
	}
	if len(w.b)-4 > maxFrame {
		return nil, fmt.Errorf("encoding the %s message: %d bytes, more than %d", m.Type, len(w.b)-4, maxFrame)
	}
	binary.BigEndian.PutUint32(w.b, uint32(len(w.b)-4))
	return w.b, nil
}

// ReadMsg reads one message.
func ReadMsg(r *bufio.Reader, m *Message) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("message of %d bytes, more than %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("reading a %d-byte message: %w", n, io.ErrUnexpectedEOF)
	}
	return decodeMsg(b, m)
}

// decodeMsg parses one frame's payload.
func decodeMsg(b []byte, m *Message) error {
	*m = Message{}
	rd := &wireReader{b: b}
	m.Type = rd.str()
	switch m.Type {
	case MsgConfig:
		m.Config = getConfig(rd)
	case MsgError:
		m.Step = rd.str()
		m.Errno = rd.num()
		m.Msg = rd.str()
	case MsgExited:
		m.Status = rd.num()
	case MsgReady, MsgContinue, MsgStarted:
	default:
		if rd.err == nil {
			rd.err = fmt.Errorf("unknown message type %q", m.Type)
		}
	}
	if rd.err == nil && len(rd.b) > 0 {
		rd.err = fmt.Errorf("%d bytes after the %s message", len(rd.b), m.Type)
	}
	if rd.err != nil {
		*m = Message{}
		return fmt.Errorf("decoding a message: %w", rd.err)
	}
	return nil
}

// putConfig and getConfig list ChildConfig's fields in wire order; a
// round-trip test fills every field, so one left out here fails it.
func putConfig(w *wireWriter, c *ChildConfig) {
	w.str("path", c.Path)
	w.strs("argv", c.Argv)
	w.strs("env", c.Env)
	w.str("workdir", c.Workdir)
	w.strs("fallback workdir", c.FallbackWorkdirs)
	w.flag(c.WorkdirExplicit)
	w.num(c.UID)
	w.num(c.GID)
	w.nums(c.Groups)
	w.str("hostname", c.Hostname)
	w.str("resolv.conf path", c.ResolvConf)
	w.str("hosts path", c.Hosts)
	w.flag(c.IPv6)
	w.str("nsswitch.conf path", c.Nsswitch)
	w.strs("hidden directory", c.Hide)
	w.strs("read-only directory", c.ReadOnly)
	w.flag(c.Join)
	w.flag(c.Seccomp)
	w.flag(c.SharedGroup)
	w.num(c.ParentPid)
}

func getConfig(r *wireReader) *ChildConfig {
	c := &ChildConfig{}
	c.Path = r.str()
	c.Argv = r.strs()
	c.Env = r.strs()
	c.Workdir = r.str()
	c.FallbackWorkdirs = r.strs()
	c.WorkdirExplicit = r.flag()
	c.UID = r.num()
	c.GID = r.num()
	c.Groups = r.nums()
	c.Hostname = r.str()
	c.ResolvConf = r.str()
	c.Hosts = r.str()
	c.IPv6 = r.flag()
	c.Nsswitch = r.str()
	c.Hide = r.strs()
	c.ReadOnly = r.strs()
	c.Join = r.flag()
	c.Seccomp = r.flag()
	c.SharedGroup = r.flag()
	c.ParentPid = r.num()
	return c
}

// wireWriter appends fields; the first error sticks.
type wireWriter struct {
	b   []byte
	err error
}

func (w *wireWriter) str(field, s string) {
	if w.err != nil {
		return
	}
	if strings.IndexByte(s, 0) >= 0 {
		w.err = fmt.Errorf("%s %q %w", field, s, errNUL)
		return
	}
	w.b = append(append(w.b, s...), 0)
}

func (w *wireWriter) strs(field string, ss []string) {
	w.num(len(ss))
	for i, s := range ss {
		if w.err == nil && strings.IndexByte(s, 0) >= 0 {
			w.err = fmt.Errorf("%s %d (%q) %w", field, i+1, s, errNUL)
			return
		}
		w.str(field, s)
	}
}

func (w *wireWriter) num(n int) {
	w.b = append(strconv.AppendInt(w.b, int64(n), 10), 0)
}

func (w *wireWriter) nums(ns []int) {
	w.num(len(ns))
	for _, n := range ns {
		w.num(n)
	}
}

func (w *wireWriter) flag(v bool) {
	if v {
		w.b = append(w.b, '1', 0)
	} else {
		w.b = append(w.b, '0', 0)
	}
}

// wireReader takes fields from the front of b; the first error sticks and
// later reads return zero values.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) str() string {
	if r.err != nil {
		return ""
	}
	for i, c := range r.b {
		if c == 0 {
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	r.err = errors.New("truncated message")
	return ""
}

func (r *wireReader) num() int {
	s := r.str()
	if r.err != nil {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		r.err = fmt.Errorf("bad number %q", s)
		return 0 // not Atoi's clamped value on overflow
	}
	return n
}

// count reads a list's length; each item takes at least one byte (its
// NUL), which bounds what a corrupt length can make us allocate.
func (r *wireReader) count() int {
	n := r.num()
	if r.err != nil {
		return 0
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("bad list length %d", n)
		return 0
	}
	return n
}

func (r *wireReader) strs() []string { return readList(r, r.str) }

func (r *wireReader) nums() []int { return readList(r, r.num) }

// readList reads a list's length, then its items with item.
func readList[T any](r *wireReader, item func() T) []T {
	n := r.count()
	if n == 0 {
		return nil
	}
	items := make([]T, n)
	for i := range items {
		items[i] = item()
	}
	return items
}

func (r *wireReader) flag() bool {
	switch s := r.str(); {
	case r.err != nil:
		return false
	case s == "1":
		return true
	case s == "0":
		return false
	default:
		r.err = fmt.Errorf("bad boolean %q", s)
		return false
	}
}
