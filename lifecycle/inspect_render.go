package lifecycle

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteInspect writes info for people: a summary, then one section per
// aspect, firewall rules with their packet and byte counters.
func WriteInspect(w io.Writer, info *Info) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	kv("Name", info.Name)
	kv("ID", info.ID)
	kv("Profile", info.Profile+originSuffix(info.ProfileOrigin))
	kv("Command", ShellJoin(info.Command))
	kv("PID", fmt.Sprint(info.Pid))
	kv("Launcher PID", fmt.Sprint(info.Launcher))
	if info.Persistent {
		kv("Persistent", "yes")
	}
	kv("Created", info.Created.Local().Format(time.RFC3339)+" (up "+FormatUptime(time.Duration(info.UptimeSeconds)*time.Second)+")")
	kv("Address", strings.TrimSpace(info.IP+" "+info.IP6))
	kv("Host veth", strings.TrimSpace(info.HostVeth+bridgeSuffix(info.Bridge)))
	if err := tw.Flush(); err != nil {
		return err
	}

	section(w, "Interfaces")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, it := range info.Interfaces {
		fmt.Fprintf(tw, "  %s\t%s\t%s\tmtu %d\t%s\t%s\n", it.Name, it.Kind, it.State, it.MTU, it.MAC, strings.Join(it.Addrs, " "))
	}
	tw.Flush()

	section(w, "Routes")
	for _, r := range info.Routes {
		line := "  " + r.Dst
		if r.Gw != "" {
			line += " via " + r.Gw
		}
		if r.Dev != "" {
			line += " dev " + r.Dev
		}
		if r.Src != "" {
			line += " src " + r.Src
		}
		fmt.Fprintln(w, line)
	}
	if len(info.Routes) == 0 {
		fmt.Fprintln(w, "  (none)")
	}

	section(w, "resolv.conf")
	for l := range strings.Lines(info.ResolvConf) {
		fmt.Fprint(w, "  "+l)
	}
	if info.ResolvConf == "" {
		fmt.Fprintln(w, "  (empty)")
	} else if !strings.HasSuffix(info.ResolvConf, "\n") {
		fmt.Fprintln(w)
	}

	section(w, "Published ports")
	for _, p := range info.Published {
		fmt.Fprintf(w, "  %s:%d -> %d/%s\n", p.HostIP, p.HostPort, p.SandboxPort, p.Proto)
	}
	if len(info.Published) == 0 {
		fmt.Fprintln(w, "  (none)")
	}

	if info.Limits != nil {
		section(w, "Limits (from the profile)")
		fmt.Fprintf(w, "  egress %s, ingress %s\n", rate(info.Limits.EgressRate), rate(info.Limits.IngressRate))
	}

	section(w, "Host rules")
	for _, r := range info.HostRules {
		fmt.Fprintln(w, "  "+r)
	}
	if len(info.HostRules) == 0 {
		fmt.Fprintln(w, "  (none)")
	}

	section(w, "DNS queries (recent, oldest first)")
	for _, q := range info.DNSQueries {
		fmt.Fprintf(w, "  %s  %-8s %s %s %s", q.Time.Format("15:04:05"), q.Decision, q.Type, q.Name, q.Rcode)
		if len(q.Answers) > 0 {
			fmt.Fprintf(w, "  -> %s", strings.Join(q.Answers, ", "))
		}
		fmt.Fprintln(w)
	}
	if len(info.DNSQueries) == 0 {
		fmt.Fprintln(w, "  (none)")
	}

	for _, t := range info.Firewall {
		section(w, fmt.Sprintf("Firewall (%s, table %s)", t.Family, t.Table))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for i, c := range t.Chains {
			if i > 0 && (len(c.Rules) > 0 || len(t.Chains[i-1].Rules) > 0) {
				fmt.Fprintln(tw)
			}
			if c.Policy != "-" {
				fmt.Fprintf(tw, "  %d\t%s\t  chain %s (policy %s)\n", c.Packets, FormatBytes(c.Bytes), c.Name, c.Policy)
			} else {
				fmt.Fprintf(tw, "  \t\t  chain %s\n", c.Name)
			}
			for _, r := range c.Rules {
				fmt.Fprintf(tw, "  %d\t%s\t    %s\n", r.Packets, FormatBytes(r.Bytes), r.Rule)
			}
		}
		tw.Flush()
	}

	if len(info.Warnings) > 0 {
		section(w, "Could not read")
		for _, s := range info.Warnings {
			fmt.Fprintln(w, "  "+s)
		}
	}
	return nil
}

func section(w io.Writer, title string) { fmt.Fprintf(w, "\n%s:\n", title) }

func originSuffix(origin string) string {
	if origin == "" {
		return ""
	}
	return " (" + origin + ")"
}

func bridgeSuffix(bridge string) string {
	if bridge == "" {
		return ""
	}
	return " (bridge " + bridge + ")"
}

// rate renders bits per second; 0 is "unlimited".
func rate(bps uint64) string {
	switch {
	case bps == 0:
		return "unlimited"
	case bps%1_000_000_000 == 0:
		return fmt.Sprintf("%dGbit/s", bps/1_000_000_000)
	case bps%1_000_000 == 0:
		return fmt.Sprintf("%dMbit/s", bps/1_000_000)
	case bps%1_000 == 0:
		return fmt.Sprintf("%dkbit/s", bps/1_000)
	}
	return fmt.Sprintf("%dbit/s", bps)
}

// FormatBytes renders a byte count as iptables -v does: 0, 512, 12K, 3M.
func FormatBytes(b uint64) string {
	units := []string{"", "K", "M", "G", "T"}
	i := 0
	for b >= 10000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	return fmt.Sprintf("%d%s", b, units[i])
}
