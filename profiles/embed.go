// Package profiles holds the built-in profiles embedded in the binary:
// offline, web, open and dev. They are commented examples meant to be
// copied: web.toml and dev.toml between them explain every key. The
// format is documented in docs/profiles.md; package policy loads them.
package profiles

import "embed"

// FS holds the built-in profiles as "<name>.toml" at its root.
//
//go:embed *.toml
var FS embed.FS
