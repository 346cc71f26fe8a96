package state

import (
	"encoding/hex"
	"fmt"

	"golang.org/x/sys/unix"
)

// NewID returns a new sandbox id: 8 lowercase hex characters from the
// kernel's random pool. (getrandom directly: crypto/rand would link and
// initialise the FIPS DRBG in every process start, for 4 bytes.)
func NewID() string {
	var b [4]byte
	// getrandom of up to 256 bytes does not return short once the pool is
	// initialised; it blocks until then.
	for {
		_, err := unix.Getrandom(b[:], 0)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			panic(fmt.Sprintf("getrandom: %v", err)) // as crypto/rand does
		}
	}
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
