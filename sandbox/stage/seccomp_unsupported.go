//go:build !amd64 && !arm64

package stage

import (
	"fmt"
	"runtime"
)

// installSeccomp fails closed where no filter has been written: the profile
// must turn the filter off explicitly ([security] seccomp = false).
func installSeccomp() error {
	return fmt.Errorf("seccomp filter not available on %s", runtime.GOARCH)
}
