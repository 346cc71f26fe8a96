package state

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// NewID returns a new sandbox id: 8 lowercase hex characters from crypto/rand.
func NewID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead).
	return hex.EncodeToString(b[:])
}

// maxIDLen bounds ids so that file names derived from them stay short.
const maxIDLen = 64

// validID checks a sandbox id before it is used in a file name: 1 to 64
// characters from [a-z0-9_-], starting with a letter or digit. NewID's ids
// always pass.
func validID(id string) error {
	if id == "" {
		return fmt.Errorf("sandbox id is empty")
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("sandbox id is too long (%d chars, max %d)", len(id), maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("sandbox id %q: bad char %q at position %d", id, c, i+1)
		}
	}
	return nil
}
