package policy

// simpleName reports whether s is 1 to maxLen characters of letters, digits,
// '_', '.' and '-', starting with a letter or digit; upper allows A-Z.
// (Hand-written rather than a package-level regexp: a regexp is compiled at
// start-up by every process that links this package, the re-executed init
// stage included.)
func simpleName(s string, maxLen int, upper bool) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case upper && c >= 'A' && c <= 'Z':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}
