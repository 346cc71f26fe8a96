// Package policy reads nsjail-net profiles (TOML, version 1), validates
// them, resolves "extends", applies command-line overrides and compiles the
// result to firewall rules.
//
// The pipeline is:
//
//	Finder.Load / Parse     strict decode (unknown keys are errors), then
//	                        validation with small check functions; every
//	                        error is a *Error naming file:line:col
//	extends                 child over parent (see merge.go)
//	ApplyOverrides          --allow / --deny / --dns / --publish
//	Compile                 iptables-restore text for the sandbox's own
//	                        network namespace (egress filter)
//	HostRules               the few per-sandbox rules on the host side
//	                        (publish, allow_host), one builder for add and
//	                        delete alike
//
// The format is documented for users in docs/profiles.md.
package policy
