package lifecycle

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nsjail-net/nsjail-net/launch"
	"github.com/nsjail-net/nsjail-net/state"
)

// Row is one live sandbox as `list` shows it.
type Row struct {
	Name          string    `json:"name"`
	ID            string    `json:"id"`
	Pid           int       `json:"pid"`
	Profile       string    `json:"profile"`
	IP            string    `json:"ip"`
	IP6           string    `json:"ip6,omitempty"`
	Created       time.Time `json:"created"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	Command       []string  `json:"command"`
	Persistent    bool      `json:"persistent"`
	Launcher      int       `json:"launcher_pid"`
}

// RowOf makes the row of a record, with the uptime as of now.
func RowOf(rec *state.Sandbox, now time.Time) Row {
	cmd := rec.Command
	if cmd == nil {
		cmd = []string{}
	}
	up := now.Sub(rec.Created)
	if up < 0 {
		up = 0
	}
	return Row{
		Name: rec.Name, ID: rec.ID, Pid: rec.Pid, Profile: rec.Profile,
		IP: rec.IP, IP6: rec.IP6, Created: rec.Created.UTC(),
		UptimeSeconds: int64(up / time.Second), Command: cmd,
		Persistent: rec.Persistent, Launcher: rec.Owner.PID,
	}
}

// Ref is how a command names the sandbox of r: its name, or its id when
// it was started without one.
func (r Row) Ref() string {
	if r.Name == "" || r.Name == launch.DefaultName(r.ID) {
		return r.ID
	}
	return r.Name
}

// WriteRefs writes one Ref a line (list -q), for scripts:
// `for s in $(nsjail-net list -q); do nsjail-net stop "$s"; done`.
func WriteRefs(w io.Writer, rows []Row) error {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.Ref() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Rows returns the live sandboxes (those set up far enough to have a
// process), oldest first, and how many records
// belong to dead launchers (left for gc). Unreadable records are reported
// in err; the others are still returned.
func Rows(dir *state.Dir, now time.Time) (rows []Row, dead int, err error) {
	recs, err := dir.Sandboxes()
	rows = []Row{}
	for _, rec := range recs {
		if !rec.Owner.Alive() {
			dead++
			continue
		}
		if rec.Pid <= 0 {
			continue // still being set up: listed once its init stage exists
		}
		rows = append(rows, RowOf(rec, now))
	}
	return rows, dead, err
}

// WriteJSON writes v as indented JSON and a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// maxCommandWidth bounds the COMMAND column of the table.
const maxCommandWidth = 60

// WriteTable writes rows as an aligned table with a header, one line per
// sandbox.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPROFILE\tADDRESS\tPID\tUPTIME\tCOMMAND")
	for _, r := range rows {
		addr := r.IP
		if addr == "" {
			addr = "-"
		}
		name := r.Name
		if r.Persistent {
			name += " (persistent)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", name, dash(r.Profile), addr, r.Pid,
			FormatUptime(time.Duration(r.UptimeSeconds)*time.Second), truncate(ShellJoin(r.Command), maxCommandWidth))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FormatUptime renders a duration compactly: 42s, 5m07s, 3h02m, 2d05h.
func FormatUptime(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
	}
}

// ShellJoin renders argv as a shell would need it typed: words with
// blanks or shell characters are single-quoted.
func ShellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// truncate shortens s to at most n runes, ending in "…" when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
