package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// The manual pages, nsjail-net(8) from the command definitions and
// nsjail-net.toml(5) from docs/profiles.md, in plain man(7) roff. Only the
// generator (mangen.go, build tag mangen) and the tests call these: the
// launcher links none of it and pays nothing at start-up (no package state
// to initialise here).

// manExitStatus, manFiles and manEnvironment are the sections of
// nsjail-net(8) that the command definitions do not hold, as .TP lists.
var (
	manExitStatus = [][2]string{
		{"0", "success; for run and exec, the program exited 0"},
		{"1", "profile check: a profile has an error"},
		{"N", "run and exec: the program's own exit status, when it exited by itself"},
		{"125", "nsjail-net itself failed: a usage error (unknown command or flag, bad value), a bad profile, an unknown user, no root, or a failed setup, which leaves nothing behind"},
		{"126", "run and exec: the program was found but could not be executed"},
		{"127", "run and exec: the program was not found"},
		{"128+N", "run and exec: the program was killed by signal N (143 for SIGTERM, 137 for SIGKILL); nsjail-net then ends by the same signal"},
	}
	manFiles = [][2]string{
		{"/run/nsjail-net", "the state dir (--state-dir): sandbox records, address leases, locks"},
		{"/run/netns/NAME", "a named sandbox's network namespace, as ip netns(8) sees it"},
		{"/etc/nsjail-net/profiles/NAME.toml", "system profiles, see nsjail-net.toml(5)"},
		{"~/.config/nsjail-net/profiles/NAME.toml", "the invoking user's profiles ($XDG_CONFIG_HOME/nsjail-net/profiles; under sudo, SUDO_USER's)"},
		{".nsjail-net.toml", "a project's profile, used by run without --profile once trusted (see trust)"},
	}
	manEnvironment = [][2]string{
		{"NSJAIL_NET_LOG_LEVEL", "the default of --log-level"},
		{"SUDO_USER, SUDO_UID, SUDO_GID", "set by sudo(8): the program runs as this user unless --user is given, and this user's profile directory is searched"},
		{"XDG_CONFIG_HOME", "where the invoking user's profiles are ($XDG_CONFIG_HOME/nsjail-net/profiles)"},
		{"NSJAIL_NET_*", "never passed on to the program; the rest of the environment is, with HOME, USER and LOGNAME of the user it runs as"},
	}
)

// writeManPage writes nsjail-net(8) for app.
func writeManPage(w io.Writer, app *cli.App, version string) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH NSJAIL\\-NET 8 \"\" \"nsjail-net %s\" \"System Administration\"\n.nh\n", roffEscape(version))
	fmt.Fprintf(&b, ".SH NAME\nnsjail\\-net \\- %s\n", roffEscape(app.Usage))
	b.WriteString(".SH SYNOPSIS\n")
	b.WriteString(".B nsjail\\-net\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n")
	forEachCommand(app.Commands, nil, func(path []string, c *cli.Command) {
		if len(c.Subcommands) > 0 {
			return
		}
		fmt.Fprintf(&b, ".br\n.B nsjail\\-net %s\n", roffEscape(strings.Join(path, " ")))
		var args []string
		if hasVisibleFlags(c.Flags) {
			args = append(args, "[\\fIOPTIONS\\fR]")
		}
		if c.ArgsUsage != "" {
			args = append(args, roffCode(c.ArgsUsage))
		}
		if len(args) > 0 {
			b.WriteString(strings.Join(args, " ") + "\n")
		}
	})
	b.WriteString(".SH DESCRIPTION\n")
	writeRoffText(&b, app.Description)
	b.WriteString(".SH GLOBAL OPTIONS\n")
	b.WriteString("Global options come before the command.\n")
	writeRoffFlags(&b, app.Flags)
	b.WriteString(".SH COMMANDS\n")
	b.WriteString("A command's options may come before or after its arguments, except run's, which end at PROGRAM; \\-\\- ends the options.\n")
	forEachCommand(app.Commands, nil, func(path []string, c *cli.Command) {
		fmt.Fprintf(&b, ".SS %s\n", roffEscape(strings.TrimSpace(strings.Join(path, " ")+" "+c.ArgsUsage)))
		fmt.Fprintf(&b, "%s.\n", roffEscape(capitalise(c.Usage)))
		if c.Description != "" {
			writeRoffText(&b, c.Description)
		}
		if hasVisibleFlags(c.Flags) {
			b.WriteString(".PP\nOptions:\n")
			writeRoffFlags(&b, c.Flags)
		}
	})
	writeRoffSection(&b, "EXIT STATUS", manExitStatus)
	writeRoffSection(&b, "FILES", manFiles)
	writeRoffSection(&b, "ENVIRONMENT", manEnvironment)
	b.WriteString(".SH SEE ALSO\n.BR nsjail\\-net.toml (5),\n.BR ip\\-netns (8),\n.BR iptables (8),\n.BR sudo (8)\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func forEachCommand(cmds []*cli.Command, path []string, fn func([]string, *cli.Command)) {
	for _, c := range cmds {
		if c.Hidden || c.Name == "help" {
			continue
		}
		p := append(append([]string{}, path...), c.Name)
		fn(p, c)
		forEachCommand(c.Subcommands, p, fn)
	}
}

func hasVisibleFlags(flags []cli.Flag) bool {
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); !ok || v.IsVisible() {
			return true
		}
	}
	return false
}

func writeRoffFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			dashes := "\\-\\-"
			if len(n) == 1 {
				dashes = "\\-"
			}
			names = append(names, "\\fB"+dashes+roffEscape(n)+"\\fR")
		}
		b.WriteString(".TP\n" + strings.Join(names, ", "))
		d, _ := f.(cli.DocGenerationFlag)
		if d != nil && d.TakesValue() {
			b.WriteString(" \\fIVALUE\\fR")
		}
		b.WriteString("\n")
		if d == nil {
			continue
		}
		text := d.GetUsage()
		if def := d.GetDefaultText(); d.TakesValue() && def != "" && def != `""` {
			text += " (default: " + def + ")"
		}
		if env := d.GetEnvVars(); len(env) > 0 {
			text += " [$" + strings.Join(env, ", $") + "]"
		}
		b.WriteString(roffLine(roffEscape(text)) + "\n")
	}
}

func writeRoffSection(b *strings.Builder, title string, items [][2]string) {
	fmt.Fprintf(b, ".SH %s\n", title)
	for _, it := range items {
		fmt.Fprintf(b, ".TP\n\\fB%s\\fR\n%s\n", roffCode(it[0]), roffLine(roffEscape(it[1])))
	}
}

// writeRoffText writes help text: paragraphs separated by blank lines,
// indented lines (examples) kept as they are.
func writeRoffText(b *strings.Builder, text string) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	pre := false
	b.WriteString(".PP\n")
	for _, l := range lines {
		indented := strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")
		switch {
		case indented && !pre:
			b.WriteString(".RS 4\n.nf\n")
			pre = true
		case !indented && pre:
			b.WriteString(".fi\n.RE\n")
			pre = false
		}
		switch {
		case strings.TrimSpace(l) == "":
			if !pre {
				b.WriteString(".PP\n")
			}
		case pre:
			b.WriteString(roffLine(roffCode(strings.TrimSpace(l))) + "\n")
		default:
			b.WriteString(roffLine(roffEscape(l)) + "\n")
		}
	}
	if pre {
		b.WriteString(".fi\n.RE\n")
	}
}

// roffEscape makes text safe in roff: backslashes printed as such.
func roffEscape(s string) string {
	return strings.ReplaceAll(s, `\`, `\e`)
}

// roffCode escapes text meant to be copied: hyphens as ASCII minus signs.
func roffCode(s string) string {
	return strings.ReplaceAll(roffEscape(s), "-", `\-`)
}

// roffLine keeps a text line from being read as a request.
func roffLine(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		return `\&` + s
	}
	return s
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeProfileManPage writes nsjail-net.toml(5) from the markdown of
// docs/profiles.md: headings, paragraphs, lists, fenced code and tables
// (as tagged paragraphs, one a row), with `code`, **bold**, *italic* and
// [links](...) in text.
func writeProfileManPage(w io.Writer, markdown, version string) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH NSJAIL\\-NET.TOML 5 \"\" \"nsjail-net %s\" \"File Formats\"\n.nh\n", roffEscape(version))
	b.WriteString(".SH NAME\nnsjail\\-net.toml \\- network profiles of nsjail\\-net\n")
	b.WriteString(".SH SYNOPSIS\n.nf\n/etc/nsjail\\-net/profiles/\\fINAME\\fR.toml\n~/.config/nsjail\\-net/profiles/\\fINAME\\fR.toml\n\\&.nsjail\\-net.toml\n.fi\n")
	b.WriteString(".SH DESCRIPTION\n")
	// A paragraph or list item is gathered whole, since markup such as
	// **bold** may span lines.
	var block []string
	blockStart := ""
	flush := func() {
		if len(block) > 0 {
			b.WriteString(blockStart + roffLine(mdInline(strings.Join(block, " "), true)) + "\n")
		}
		block = nil
	}
	lines := strings.Split(markdown, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "|") && !strings.HasPrefix(t, "```") && !strings.HasPrefix(t, "#") &&
			!strings.HasPrefix(t, "- ") && mdNumbered(t) == "" && len(block) > 0 {
			block = append(block, t) // continues the paragraph or item
			continue
		}
		flush()
		switch {
		case strings.HasPrefix(t, "```"):
			b.WriteString(".PP\n.RS 4\n.nf\n")
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				b.WriteString(roffLine(roffCode(lines[i])) + "\n")
			}
			b.WriteString(".fi\n.RE\n")
		case strings.HasPrefix(t, "# "):
			// The page's title: NAME says it.
		case strings.HasPrefix(t, "## "):
			fmt.Fprintf(&b, ".SH %s\n", strings.ToUpper(mdInline(t[3:], false)))
		case strings.HasPrefix(t, "###"):
			fmt.Fprintf(&b, ".SS %s\n", mdInline(strings.TrimLeft(t, "# "), false))
		case strings.HasPrefix(t, "|"):
			var rows [][]string
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
				rows = append(rows, mdCells(lines[i]))
			}
			i--
			writeMdTable(&b, rows)
		case t == "":
		case strings.HasPrefix(t, "- "):
			blockStart, block = ".IP \\(bu 4\n", []string{t[2:]}
		case mdNumbered(t) != "":
			n := mdNumbered(t)
			blockStart, block = ".IP "+n+" 4\n", []string{strings.TrimSpace(t[len(n):])}
		default:
			blockStart, block = ".PP\n", []string{t}
		}
	}
	flush()
	b.WriteString(".SH SEE ALSO\n.BR nsjail\\-net (8)\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mdNumbered returns "1." for a line starting a numbered list item.
func mdNumbered(t string) string {
	n := 0
	for n < len(t) && t[n] >= '0' && t[n] <= '9' {
		n++
	}
	if n > 0 && n+1 < len(t) && t[n] == '.' && t[n+1] == ' ' {
		return t[:n+1]
	}
	return ""
}

// mdCells splits a table row on the | not inside `code`.
func mdCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	var cells []string
	var cur strings.Builder
	code := false
	for i := 0; i < len(row); i++ {
		switch c := row[i]; {
		case c == '`':
			code = !code
			cur.WriteByte(c)
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// writeMdTable writes a table (header, separator, rows) as tagged
// paragraphs: the first cell the tag, the middle ones "header: value", the
// last the text.
func writeMdTable(b *strings.Builder, rows [][]string) {
	if len(rows) < 2 {
		return
	}
	head := rows[0]
	for _, r := range rows[2:] {
		if len(r) == 0 {
			continue
		}
		fmt.Fprintf(b, ".TP\n%s\n", roffLine(mdInline(r[0], true)))
		var parts []string
		for j := 1; j < len(r)-1 && j < len(head); j++ {
			parts = append(parts, mdInline(head[j], true)+": "+mdInline(r[j], true))
		}
		if len(parts) > 0 {
			b.WriteString(roffLine(strings.Join(parts, "; ")) + ".\n.br\n")
		}
		if len(r) > 1 {
			b.WriteString(roffLine(mdInline(r[len(r)-1], true)) + "\n")
		}
	}
}

// mdInline converts markdown inline markup to roff; fonts only when fonts
// is set (headings take plain text).
func mdInline(s string, fonts bool) string {
	font := func(f, text string) string {
		if !fonts {
			return text
		}
		return `\f` + f + text + `\fR`
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case rest[0] == '`':
			if end := strings.IndexByte(rest[1:], '`'); end >= 0 {
				b.WriteString(font("B", roffCode(rest[1:1+end])))
				i += end + 2
				continue
			}
		case strings.HasPrefix(rest, "**"):
			if end := strings.Index(rest[2:], "**"); end > 0 {
				b.WriteString(font("B", mdInline(rest[2:2+end], false)))
				i += end + 4
				continue
			}
		case rest[0] == '*' && len(rest) > 1 && rest[1] != ' ':
			if end := strings.IndexByte(rest[1:], '*'); end > 0 {
				b.WriteString(font("I", mdInline(rest[1:1+end], false)))
				i += end + 2
				continue
			}
		case rest[0] == '[':
			if close := strings.Index(rest, "]("); close > 0 {
				if end := strings.IndexByte(rest[close:], ')'); end > 0 {
					b.WriteString(mdInline(rest[1:close], fonts))
					i += close + end + 1
					continue
				}
			}
		case rest[0] == '\\':
			b.WriteString(`\e`)
			i++
			continue
		}
		b.WriteByte(rest[0])
		i++
	}
	return b.String()
}
