package stage

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// fillAll sets every field of the struct v points to to a distinct
// non-zero value, so that a field the wire format forgets shows up.
func fillAll(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := 0; i < rv.NumField(); i++ {
		f, name := rv.Field(i), rv.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(name + " value, with spaces\nand a newline")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int:
			f.SetInt(int64(1000 + i))
		case reflect.Slice:
			switch f.Type().Elem().Kind() {
			case reflect.String:
				f.Set(reflect.ValueOf([]string{name + "-1", "", "-x", "é=ü"}))
			case reflect.Int:
				f.Set(reflect.ValueOf([]int{0, -1, 65534, i}))
			default:
				t.Fatalf("ChildConfig.%s: slice of %s: teach fillAll and the wire format", name, f.Type().Elem())
			}
		default:
			t.Fatalf("ChildConfig.%s: kind %s: teach fillAll and the wire format", name, f.Kind())
		}
	}
}

func roundTrip(t *testing.T, m Message) Message {
	t.Helper()
	b, err := EncodeMsg(m)
	if err != nil {
		t.Fatalf("EncodeMsg(%+v): %v", m, err)
	}
	var got Message
	if err := ReadMsg(bufio.NewReader(bytes.NewReader(b)), &got); err != nil {
		t.Fatalf("ReadMsg: %v", err)
	}
	return got
}

func TestWireRoundTrip(t *testing.T) {
	full := &ChildConfig{}
	fillAll(t, full)
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"config, every field", Message{Type: MsgConfig, Config: full}},
		{"config, zero", Message{Type: MsgConfig, Config: &ChildConfig{}}},
		{"ready", Message{Type: MsgReady}},
		{"continue", Message{Type: MsgContinue}},
		{"error", Message{Type: MsgError, Step: "exec", Errno: 2, Msg: "/bin/nope: no such file or directory"}},
		{"started", Message{Type: MsgStarted}},
		{"exited", Message{Type: MsgExited, Status: 0x0f00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := roundTrip(t, tc.m); !reflect.DeepEqual(got, tc.m) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.m)
			}
		})
	}
}

func TestWireMessagesInSequence(t *testing.T) {
	var buf bytes.Buffer
	for _, m := range []Message{{Type: MsgReady}, {Type: MsgError, Step: "s", Msg: "m"}} {
		b, err := EncodeMsg(m)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	r := bufio.NewReader(&buf)
	var m Message
	if err := ReadMsg(r, &m); err != nil || m.Type != MsgReady {
		t.Fatalf("first: %+v, %v", m, err)
	}
	if err := ReadMsg(r, &m); err != nil || m.Type != MsgError || m.Step != "s" || m.Msg != "m" {
		t.Fatalf("second: %+v, %v", m, err)
	}
	if err := ReadMsg(r, &m); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last: %v, want io.EOF (the parent's sign that exec worked)", err)
	}
}

func TestWireRefusesNUL(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ChildConfig
		want string
	}{
		{"argv", ChildConfig{Argv: []string{"echo", "a\x00b"}}, "argv 2"},
		{"env", ChildConfig{Env: []string{"A=1\x00"}}, "env 1"},
		{"workdir", ChildConfig{Workdir: "/tmp/\x00"}, "workdir"},
		{"hostname", ChildConfig{Hostname: "a\x00"}, "hostname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeMsg(Message{Type: MsgConfig, Config: &tc.cfg})
			if !errors.Is(err, errNUL) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestWireRefusesBadFrames(t *testing.T) {
	frame := func(payload string) []byte {
		n := len(payload)
		return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"short header", []byte{0, 0}},
		{"short body", frame("ready\x00")[:7]},
		{"too long", []byte{0xff, 0xff, 0xff, 0xff}},
		{"unknown type", frame("hello\x00")},
		{"no terminator", frame("ready")},
		{"trailing bytes", frame("ready\x00x\x00")},
		{"bad number", frame("error\x00step\x00two\x00msg\x00")},
		{"bad boolean", frame("config\x00\x000\x000\x00\x000\x00yes\x00")},
		{"huge list", frame("config\x00\x00999999\x00")},
		{"negative list", frame("config\x00\x00-1\x00")},
		{"overflowing list length", frame("config\x00\x0010000000000000000000\x00")},
		{"truncated config", frame("config\x00/bin/true\x001\x00true\x00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := ReadMsg(bufio.NewReader(bytes.NewReader(tc.in)), &m)
			if err == nil || errors.Is(err, io.EOF) {
				t.Errorf("ReadMsg(%q) = %v, want an error other than io.EOF", tc.in, err)
			}
		})
	}
}

// FuzzWireDecode: no input makes the decoder panic or allocate without
// bound, and whatever it accepts encodes back to the same bytes.
func FuzzWireDecode(f *testing.F) {
	full := &ChildConfig{Argv: []string{"true"}, Groups: []int{1, 2}, Hide: []string{"/run/x"}, Seccomp: true}
	for _, m := range []Message{{Type: MsgConfig, Config: full}, {Type: MsgReady}, {Type: MsgError, Step: "a", Errno: 1, Msg: "b"}} {
		b, err := EncodeMsg(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[4:])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var m Message
		if err := decodeMsg(payload, &m); err != nil {
			return
		}
		b, err := EncodeMsg(m)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		var again Message
		if err := decodeMsg(b[4:], &again); err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-decoding: %+v, %v; want %+v", again, err, m)
		}
	})
}
