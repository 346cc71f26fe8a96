package lifecycle

import (
	"os"
	"path/filepath"

	"github.com/nsjail-net/nsjail-net/policy"
)

// PolicyDirs lists the directories whose content decides the policy of
// later runs and that a sandbox therefore sees read-only: /etc/nsjail-net,
// the trust store's directory, and the nsjail-net configuration directory
// (~/.config/nsjail-net) of the invoking user and of the user the program
// runs as, whose home is home. Each is resolved (symbolic links followed
// here, as root, so the init stage follows none) and listed once; those
// that do not exist are left out.
//
// It is the second line of defence: what the program could write there
// still could not change a later run's policy (built-in names ignore files
// users can write, and other such profiles need trust, which covers every
// byte), but it cannot even try. --profiles-dir directories are left
// writable: they may be anywhere, even in the project the program works
// on, and trust covers them.
func PolicyDirs(home string) []string {
	cands := []string{filepath.Dir(policy.SystemDir), filepath.Dir(DefaultTrustStore), policy.InvokingConfigDir()}
	if filepath.IsAbs(home) {
		cands = append(cands, filepath.Join(home, ".config", "nsjail-net"))
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cands {
		if !filepath.IsAbs(c) {
			continue
		}
		real, err := filepath.EvalSymlinks(c)
		if err != nil || seen[real] {
			continue
		}
		if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
			continue
		}
		seen[real] = true
		out = append(out, real)
	}
	return out
}
