package launch

import "strings"

// defaultHostname is the hostname of a sandbox started without one: its
// name, made an RFC 1123 host name. Sandbox names may hold '_' and empty
// or '-'-edged labels that host names may not, so '_' becomes '-', and
// empty labels and '-' at either end of a label are dropped ("my_proj" is
// "my-proj", "a..b" is "a.b"). A valid sandbox name starts with a letter
// or a digit and has at most 31 characters, so the result is never empty
// and always a valid host name.
func defaultHostname(name string) string {
	var labels []string
	for _, l := range strings.Split(strings.ReplaceAll(name, "_", "-"), ".") {
		if l = strings.Trim(l, "-"); l != "" {
			labels = append(labels, l)
		}
	}
	return strings.Join(labels, ".")
}
