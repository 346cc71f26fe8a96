package dns

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxHostnameLen is the longest sandbox hostname: RFC 1123 allows 253
// bytes, but the kernel's UTS namespace holds 64 (__NEW_UTS_LEN).
const MaxHostnameLen = 64

// ValidHostname checks h as an RFC 1123 host name that sethostname(2)
// takes, and says what is wrong: labels of 1-63 letters, digits and '-',
// separated by '.', none starting or ending with '-'; no trailing dot; at
// most MaxHostnameLen bytes. The hostname is written into the sandbox's
// /etc/hosts, so nothing else (a newline, a space, '#') may get through.
func ValidHostname(h string) error { return validHostName(h, MaxHostnameLen) }

// ValidHostEntryName checks the name of an extra /etc/hosts entry
// (--add-host) as ValidHostname does, up to RFC 1123's 253 bytes.
func ValidHostEntryName(h string) error { return validHostName(h, 253) }

func validHostName(h string, maxLen int) error {
	switch {
	case h == "":
		return errors.New("empty host name")
	case len(h) > maxLen:
		return fmt.Errorf("too long (%d bytes, max %d)", len(h), maxLen)
	case strings.HasSuffix(h, "."):
		return errors.New("ends with '.' (no trailing dot)")
	}
	for i, r := range h { // by rune, so the message shows the character
		if r == utf8.RuneError {
			return fmt.Errorf("invalid UTF-8 at byte %d", i+1)
		}
		if !isHostChar(r) {
			return fmt.Errorf("character %q at byte %d not allowed (letters, digits, '-', '.')", r, i+1)
		}
	}
	for _, label := range strings.Split(h, ".") {
		switch {
		case label == "":
			return errors.New("empty label (\"..\" or a leading '.')")
		case len(label) > 63:
			return fmt.Errorf("label %q longer than 63 characters", label)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("label %q starts or ends with '-'", label)
		}
	}
	return nil
}

func isHostChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.'
}
