package stage

// The hidden stages (init, pause) are dispatched from this package's init
// function rather than from main, the way runc enters "runc init" before
// main runs. Go initialises a package only after everything it imports, and
// this package imports none of the launcher's heavier packages (the CLI,
// profiles, firewall, DNS): a re-executed init stage never pays for their
// initialisation. On a machine where every page fault is expensive that is
// several milliseconds of every launch.
//
// Nothing here may depend on state set up by main: neither stage reads
// flags; the init stage takes everything from the parent over fd 3.
func init() {
	if IsInit() {
		Init() // never returns
	}
	if IsPause() {
		Pause() // never returns
	}
}
