package launch

import (
	"encoding/json"

	"github.com/nsjail-net/nsjail-net/nat"
)

// encodeRules stores per-sandbox host rules in the state record, so that gc
// can delete exactly them after a crash.
func encodeRules(rules []nat.Rule) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(rules))
	for _, r := range rules {
		b, _ := json.Marshal(r) // plain strings and bools
		out = append(out, b)
	}
	return out
}

// DecodeRules is encodeRules' inverse.
func DecodeRules(raw []json.RawMessage) ([]nat.Rule, error) {
	out := make([]nat.Rule, 0, len(raw))
	for _, m := range raw {
		var r nat.Rule
		if err := json.Unmarshal(m, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
