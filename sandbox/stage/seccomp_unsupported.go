//go:build !amd64 && !arm64

package stage

import (
	"fmt"
	"runtime"
)

// filterOpts is as on the supported architectures.
type filterOpts struct{ full, sharedGroup bool }

// installSeccomp fails closed where no filter has been written, even for
// the terminal rule alone: TIOCSTI would be open.
func installSeccomp(o filterOpts) error {
	return fmt.Errorf("seccomp filter not available on %s", runtime.GOARCH)
}
