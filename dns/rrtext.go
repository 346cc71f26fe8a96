package dns

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// This file renders names, types, response codes and records in the
// presentation format of zone files, as dig and the miekg/dns library
// print them: the query log and the name matching depend on it.

// nameText renders a name in presentation format, with its trailing dot.
// Bytes that are special in a zone file are escaped with a backslash and
// bytes outside printable ASCII as \DDD, so that such names never match
// a pattern (see Pattern.Match). Labels cannot contain dots: dnsmessage
// refuses them when it parses a message.
func nameText(n dnsmessage.Name) string {
	data := n.Data[:n.Length]
	if !needsEscape(data) {
		return string(data)
	}
	var sb strings.Builder
	for _, c := range data {
		switch {
		case c == '.':
			sb.WriteByte(c) // a label separator
		case labelSpecial(c):
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < ' ' || c > '~':
			writeDDD(&sb, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

func needsEscape(data []byte) bool {
	for _, c := range data {
		if c != '.' && (labelSpecial(c) || c < ' ' || c > '~') {
			return true
		}
	}
	return false
}

// labelSpecial tells the bytes that are escaped with a backslash in a
// label.
func labelSpecial(c byte) bool {
	switch c {
	case ' ', '\'', '@', ';', '(', ')', '"', '\\':
		return true
	}
	return false
}

// writeDDD writes c as \DDD.
func writeDDD(sb *strings.Builder, c byte) {
	sb.WriteByte('\\')
	sb.WriteByte('0' + c/100)
	sb.WriteByte('0' + c/10%10)
	sb.WriteByte('0' + c%10)
}

// typeNames are the mnemonics of the record types, by number up to 261.
var typeNames = [...]string{
	0: "None", 1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG",
	9: "MR", 10: "NULL", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
	17: "RP", 18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 23: "NSAP-PTR", 24: "SIG",
	25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID",
	32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT", 39: "DNAME",
	41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC",
	48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA",
	55: "HIP", 56: "NINFO", 57: "RKEY", 58: "TALINK", 59: "CDS", 60: "CDNSKEY",
	61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF",
	100: "UINFO", 101: "UID", 102: "GID", 103: "UNSPEC", 104: "NID", 105: "L32",
	106: "L64", 107: "LP", 108: "EUI48", 109: "EUI64", 128: "NXNAME", 249: "TKEY",
	250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY",
	256: "URI", 257: "CAA", 258: "AVC", 260: "AMTRELAY", 261: "RESINFO",
}

// typeName is a type's mnemonic, or TYPEnnn (RFC 3597) for types without
// one.
func typeName(t dnsmessage.Type) string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	switch t {
	case 32768:
		return "TA"
	case 32769:
		return "DLV"
	case 65535:
		return "Reserved"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// rcodeNames are the mnemonics of the response codes, extended ones
// included (16 is also BADVERS).
var rcodeNames = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", 16: "BADSIG",
	"BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE"}

// rcodeName is the mnemonic of an (extended) response code; "" for codes
// without one.
func rcodeName(rc int) string {
	if rc >= 0 && rc < len(rcodeNames) {
		return rcodeNames[rc]
	}
	return ""
}

// formatRR renders a record as "name TYPE data", without TTL and class;
// the name loses its trailing dot, names in the data keep it.
func formatRR(rr dnsmessage.Resource) string {
	return strings.TrimSuffix(nameText(rr.Header.Name), ".") + " " + typeName(rr.Header.Type) + " " + rdataText(rr.Body)
}

// rdataText renders a record's data. Types that dnsmessage does not parse
// are rendered in the generic format of RFC 3597: \# length hex.
func rdataText(body dnsmessage.ResourceBody) string {
	switch b := body.(type) {
	case *dnsmessage.AResource:
		return netip.AddrFrom4(b.A).String()
	case *dnsmessage.AAAAResource:
		return netip.AddrFrom16(b.AAAA).String()
	case *dnsmessage.CNAMEResource:
		return nameText(b.CNAME)
	case *dnsmessage.NSResource:
		return nameText(b.NS)
	case *dnsmessage.PTRResource:
		return nameText(b.PTR)
	case *dnsmessage.MXResource:
		return strconv.Itoa(int(b.Pref)) + " " + nameText(b.MX)
	case *dnsmessage.SOAResource:
		return nameText(b.NS) + " " + nameText(b.MBox) + " " +
			strconv.FormatUint(uint64(b.Serial), 10) + " " +
			strconv.FormatUint(uint64(b.Refresh), 10) + " " +
			strconv.FormatUint(uint64(b.Retry), 10) + " " +
			strconv.FormatUint(uint64(b.Expire), 10) + " " +
			strconv.FormatUint(uint64(b.MinTTL), 10)
	case *dnsmessage.SRVResource:
		return strconv.Itoa(int(b.Priority)) + " " + strconv.Itoa(int(b.Weight)) + " " +
			strconv.Itoa(int(b.Port)) + " " + nameText(b.Target)
	case *dnsmessage.TXTResource:
		return txtText(b.TXT)
	case *dnsmessage.SVCBResource:
		return svcbText(b)
	case *dnsmessage.HTTPSResource:
		return svcbText(&b.SVCBResource)
	case *dnsmessage.UnknownResource:
		return `\# ` + strconv.Itoa(len(b.Data)) + " " + hex.EncodeToString(b.Data)
	}
	return ""
}

// txtText renders character strings, each in double quotes.
func txtText(txt []string) string {
	var sb strings.Builder
	for i, s := range txt {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte('"')
		for j := 0; j < len(s); j++ {
			switch c := s[j]; {
			case c == '"' || c == '\\':
				sb.WriteByte('\\')
				sb.WriteByte(c)
			case c < ' ' || c > '~':
				writeDDD(&sb, c)
			default:
				sb.WriteByte(c)
			}
		}
		sb.WriteByte('"')
	}
	return sb.String()
}

// svcbKeys are the names of the SVCB parameter keys (RFC 9460, 9461, 9540).
var svcbKeys = [...]string{"mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint", "dohpath", "ohttp"}

func svcbKeyName(k dnsmessage.SVCParamKey) string {
	switch {
	case int(k) < len(svcbKeys):
		return svcbKeys[k]
	case k == 65535:
		return "" // reserved
	}
	return "key" + strconv.Itoa(int(k))
}

// svcbText renders SVCB and HTTPS data: priority, target and key="value"
// parameters.
func svcbText(r *dnsmessage.SVCBResource) string {
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(int(r.Priority)))
	sb.WriteByte(' ')
	sb.WriteString(nameText(r.Target))
	for _, p := range r.Params {
		sb.WriteByte(' ')
		sb.WriteString(svcbKeyName(p.Key))
		sb.WriteString(`="`)
		sb.WriteString(svcbValueText(p.Key, p.Value))
		sb.WriteByte('"')
	}
	return sb.String()
}

// svcbValueText renders a parameter value; a value that is malformed for
// its key is rendered as an opaque one.
func svcbValueText(k dnsmessage.SVCParamKey, v []byte) string {
	switch k {
	case dnsmessage.SVCParamMandatory:
		if len(v)%2 == 0 {
			keys := make([]string, 0, len(v)/2)
			for i := 0; i < len(v); i += 2 {
				keys = append(keys, svcbKeyName(dnsmessage.SVCParamKey(binary.BigEndian.Uint16(v[i:]))))
			}
			return strings.Join(keys, ",")
		}
	case dnsmessage.SVCParamALPN:
		if s, ok := alpnText(v); ok {
			return s
		}
	case dnsmessage.SVCParamNoDefaultALPN, dnsmessage.SVCParamOHTTP:
		if len(v) == 0 {
			return ""
		}
	case dnsmessage.SVCParamPort:
		if len(v) == 2 {
			return strconv.Itoa(int(binary.BigEndian.Uint16(v)))
		}
	case dnsmessage.SVCParamIPv4Hint:
		if len(v) > 0 && len(v)%4 == 0 {
			addrs := make([]string, 0, len(v)/4)
			for i := 0; i < len(v); i += 4 {
				addrs = append(addrs, netip.AddrFrom4([4]byte(v[i:i+4])).String())
			}
			return strings.Join(addrs, ",")
		}
	case dnsmessage.SVCParamECH:
		return base64.StdEncoding.EncodeToString(v)
	case dnsmessage.SVCParamIPv6Hint:
		if len(v) > 0 && len(v)%16 == 0 {
			addrs := make([]string, 0, len(v)/16)
			for i := 0; i < len(v); i += 16 {
				addrs = append(addrs, netip.AddrFrom16([16]byte(v[i:i+16])).String())
			}
			return strings.Join(addrs, ",")
		}
	}
	return svcbOpaqueText(v)
}

// alpnText renders the protocol ids of an alpn parameter, separated by
// commas; commas and backslashes inside an id are escaped twice.
func alpnText(v []byte) (string, bool) {
	var sb strings.Builder
	for i := 0; i < len(v); {
		n := int(v[i])
		i++
		if i+n > len(v) {
			return "", false
		}
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		for _, c := range v[i : i+n] {
			switch {
			case c < ' ' || c > '~':
				writeDDD(&sb, c)
			case c == '"' || c == ';' || c == ' ':
				sb.WriteByte('\\')
				sb.WriteByte(c)
			case c == ',':
				sb.WriteString(`\\\044`)
			case c == '\\':
				sb.WriteString(`\\\092`)
			default:
				sb.WriteByte(c)
			}
		}
		i += n
	}
	return sb.String(), true
}

// svcbOpaqueText renders a parameter value as escaped text.
func svcbOpaqueText(v []byte) string {
	var sb strings.Builder
	for _, c := range v {
		switch {
		case c < ' ' || c > '~':
			writeDDD(&sb, c)
		case c == '"' || c == ';' || c == ' ' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
