// Package lifecycle holds what the commands that manage live sandboxes
// share: finding a sandbox by name or id, listing and inspecting them
// (reading a sandbox's network from outside, through handles bound to its
// namespace), the doctor's checks, project profiles and the trust store
// that guards them, and the argument handling that lets flags follow a
// sandbox name.
package lifecycle
