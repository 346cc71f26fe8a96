package dns

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchAny(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		query    string
		want     bool
	}{
		{"exact", []string{"example.com"}, "example.com", true},
		{"exact with trailing dot", []string{"example.com"}, "example.com.", true},
		{"pattern with trailing dot", []string{"example.com."}, "example.com", true},
		{"exact upper case query", []string{"example.com"}, "EXAMPLE.Com.", true},
		{"exact upper case pattern", []string{"Example.COM"}, "example.com", true},
		{"exact not below", []string{"example.com"}, "www.example.com", false},
		{"exact not above", []string{"www.example.com"}, "example.com", false},
		{"exact not suffix of label", []string{"example.com"}, "myexample.com", false},
		{"wildcard one level", []string{"*.example.com"}, "a.example.com", true},
		{"wildcard two levels", []string{"*.example.com"}, "a.b.example.com.", true},
		{"wildcard deep", []string{"*.example.com"}, "x.y.z.w.example.com", true},
		{"wildcard case", []string{"*.Example.com"}, "A.EXAMPLE.COM.", true},
		{"wildcard not itself", []string{"*.example.com"}, "example.com", false},
		{"wildcard not itself with dot", []string{"*.example.com"}, "example.com.", false},
		{"wildcard not suffix of label", []string{"*.example.com"}, "aexample.com", false},
		{"wildcard not other domain", []string{"*.example.com"}, "a.example.org", false},
		{"wildcard not empty label", []string{"*.example.com"}, ".example.com", false},
		{"second pattern", []string{"a.test", "*.example.com"}, "b.example.com", true},
		{"none", nil, "example.com", false},
		{"root query", []string{"example.com"}, ".", false},
		{"escaped dot never matches", []string{"*.example.com"}, `a\.example.com`, false},
		{"escaped letter never matches", []string{"example.com"}, `ex\097mple.com`, false},
		{"kelvin sign is not k", []string{"k.test"}, "\u212a.test", false},
		{"underscore", []string{"_dmarc.example.com"}, "_DMARC.example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := CompilePatterns(tt.patterns)
			if err != nil {
				t.Fatalf("CompilePatterns(%q): %v", tt.patterns, err)
			}
			if got := MatchAny(ps, tt.query); got != tt.want {
				t.Errorf("MatchAny(%q, %q) = %v, want %v", tt.patterns, tt.query, got, tt.want)
			}
		})
	}
}

func TestCompilePatterns(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result; "" = error
		wantErr bool
	}{
		{in: "example.com", want: "example.com"},
		{in: "Example.COM.", want: "example.com"},
		{in: "*.example.com", want: "*.example.com"},
		{in: "*.COM", want: "*.com"},
		{in: "", wantErr: true},
		{in: ".", wantErr: true},
		{in: "*", wantErr: true},
		{in: "*.", wantErr: true},
		{in: "exa mple.com", wantErr: true},
		{in: "example..com", wantErr: true},
		{in: "a.*.example.com", wantErr: true},
		{in: "*example.com", wantErr: true},
		{in: "**.example.com", wantErr: true},
		{in: `a\.example.com`, wantErr: true},
		{in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ps, err := CompilePatterns([]string{tt.in})
			if tt.wantErr {
				if !errors.Is(err, ErrBadPattern) {
					t.Fatalf("CompilePatterns(%q) = %v, %v; want ErrBadPattern", tt.in, ps, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CompilePatterns(%q): %v", tt.in, err)
			}
			if got := ps[0].String(); got != tt.want {
				t.Errorf("CompilePatterns(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCompilePatternsReportsAll(t *testing.T) {
	_, err := CompilePatterns([]string{"ok.test", "bad..one", "a b"})
	if !errors.Is(err, ErrBadPattern) {
		t.Fatalf("err = %v, want ErrBadPattern", err)
	}
	for _, s := range []string{`"bad..one"`, `"a b"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
}

func BenchmarkMatchAny(b *testing.B) {
	ps, err := CompilePatterns([]string{"a.test", "b.test", "*.github.com", "*.githubusercontent.com", "example.com"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !MatchAny(ps, "Example.COM.") {
			b.Fatal("no match")
		}
	}
}
