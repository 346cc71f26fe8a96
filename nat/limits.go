package nat

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Bandwidth limits are token-bucket (TBF) root qdiscs on the two ends of
// the sandbox's veth, made through netlink:
//
//	sandbox egress  = root TBF on the sandbox's eth0, inside its namespace
//	sandbox ingress = root TBF on the host end (its egress is the
//	                  sandbox's ingress)
//
// Shaping the sandbox's egress where it leaves (rather than policing it
// where it enters the host, with an ingress qdisc and a police action)
// queues instead of dropping, so TCP senders in the sandbox are slowed by
// backpressure, not by losses; it needs no act_police or IFB in the kernel
// (only sch_tbf); and, like the firewall, it sits in the namespace that
// dies with the sandbox and where the program holds no capability to
// change it. Both qdiscs go away with the veth: RemoveLimits exists for
// completeness and for a change of limits on a running sandbox.

// limitHandle is the handle of our root TBF (1:).
var limitHandle = netlink.MakeHandle(1, 0)

const (
	// limitBurstTime is the burst of the bucket, in time at the rate;
	// never less than limitMinBurst, so a full-size frame always fits.
	limitBurstTime = 0.02 // seconds
	limitMinBurst  = 16 << 10
	// limitLatency is how long a packet may wait in the queue before TBF
	// drops: the queue holds limitLatency worth of bytes plus the burst.
	limitLatency = 0.05 // seconds
	// minRate and maxRate bound the rates, in bits per second. Below
	// 8 kbit/s the bucket of even two frames takes longer to fill than
	// TBF's 32-bit buffer (in scheduler ticks) can express; 2^40 bytes per
	// second (~8.8 Tbit/s) is beyond any veth.
	minRate = 8_000
	maxRate = 1 << 40 * 8
)

// ApplyLimits shapes the sandbox's traffic: egress (bits per second, from
// the sandbox) on eth0 inside the sandbox's namespace (sbH, a netlink
// handle bound to it), ingress (to the sandbox) on hostVeth, the host end,
// through hostH. 0 means no limit for that direction, and then the
// matching handle may be nil. It replaces any root qdisc of ours, so it
// can be called again with other rates.
func ApplyLimits(hostH *netlink.Handle, hostVeth netlink.Link, sbH *netlink.Handle, egress, ingress uint64) error {
	for _, rate := range []uint64{egress, ingress} {
		if rate != 0 && (rate < minRate || rate > maxRate) {
			return fmt.Errorf("rate %d bit/s: out of range %d-%d bit/s", rate, minRate, uint64(maxRate))
		}
	}
	if ingress > 0 {
		if err := setTBF(hostH, hostVeth, ingress); err != nil {
			return fmt.Errorf("limiting ingress of the sandbox on %q: %w", hostVeth.Attrs().Name, err)
		}
	}
	if egress > 0 {
		link, err := sandboxLink(sbH)
		if err == nil {
			err = setTBF(sbH, link, egress)
		}
		if err != nil {
			return fmt.Errorf("limiting egress of the sandbox on its %s: %w", SandboxIfName, err)
		}
	}
	return nil
}

// RemoveLimits removes the root TBFs that ApplyLimits set: on hostVeth,
// and, when sbH is not nil, on the sandbox's eth0. Absent (no such qdisc,
// or no such link) is success.
func RemoveLimits(hostH *netlink.Handle, hostVeth netlink.Link, sbH *netlink.Handle) error {
	var errs []error
	if hostH != nil && hostVeth != nil {
		if err := delTBF(hostH, hostVeth); err != nil {
			errs = append(errs, fmt.Errorf("removing the ingress limit on %q: %w", hostVeth.Attrs().Name, err))
		}
	}
	if sbH != nil {
		link, err := sandboxLink(sbH)
		var nf netlink.LinkNotFoundError
		switch {
		case errors.As(err, &nf):
		case err != nil:
			errs = append(errs, err)
		default:
			if err := delTBF(sbH, link); err != nil {
				errs = append(errs, fmt.Errorf("removing the egress limit on the sandbox's %s: %w", SandboxIfName, err))
			}
		}
	}
	return errors.Join(errs...)
}

func sandboxLink(sbH *netlink.Handle) (netlink.Link, error) {
	if sbH == nil {
		return nil, errors.New("no netlink handle for the sandbox's namespace")
	}
	link, err := sbH.LinkByName(SandboxIfName)
	if err != nil {
		return nil, fmt.Errorf("looking up %s in the sandbox: %w", SandboxIfName, err)
	}
	return link, nil
}

// tbfFor builds the root TBF for rate (bits per second) on link, sized as
// the CNI bandwidth plugin does: buffer is the burst in scheduler ticks,
// limit the bytes that may queue.
func tbfFor(link netlink.Link, rate uint64) *netlink.Tbf {
	bytesPerSec := max(rate/8, 1)
	burst := max(uint64(float64(bytesPerSec)*limitBurstTime), limitMinBurst)
	if mtu := uint64(link.Attrs().MTU) + 14; burst < 2*mtu {
		burst = 2 * mtu
	}
	burst = min(burst, 1<<30)
	limit := min(uint64(float64(bytesPerSec)*limitLatency)+burst, 1<<31)
	return &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: link.Attrs().Index,
			Handle:    limitHandle,
			Parent:    netlink.HANDLE_ROOT,
		},
		Rate:   bytesPerSec,
		Buffer: netlink.Xmittime(bytesPerSec, uint32(burst)),
		Limit:  uint32(limit),
	}
}

func setTBF(h *netlink.Handle, link netlink.Link, rate uint64) error {
	q := tbfFor(link, rate)
	if err := h.QdiscReplace(q); err != nil {
		return fmt.Errorf("tbf rate %d bit/s: %w", rate, err)
	}
	return nil
}

// delTBF deletes the root qdisc of link if it is our TBF; anything else
// (the default qdisc, someone else's) is left alone.
func delTBF(h *netlink.Handle, link netlink.Link) error {
	qs, err := h.QdiscList(link)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil
		}
		return fmt.Errorf("listing qdiscs: %w", err)
	}
	for _, q := range qs {
		a := q.Attrs()
		if q.Type() != "tbf" || a.Parent != netlink.HANDLE_ROOT || a.Handle != limitHandle {
			continue
		}
		if err := h.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("deleting tbf: %w", err)
		}
	}
	return nil
}

// RateLimit reports the rate (bits per second) of the root TBF on link, as
// ApplyLimits set it: 0 when there is none. For inspect and tests.
func RateLimit(h *netlink.Handle, link netlink.Link) (uint64, error) {
	qs, err := h.QdiscList(link)
	if err != nil {
		return 0, fmt.Errorf("listing qdiscs of %q: %w", link.Attrs().Name, err)
	}
	for _, q := range qs {
		if t, ok := q.(*netlink.Tbf); ok && t.Parent == netlink.HANDLE_ROOT {
			return t.Rate * 8, nil
		}
	}
	return 0, nil
}
