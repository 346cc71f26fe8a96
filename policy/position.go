package policy

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// posIndex maps key paths to positions in one file, so that validation
// errors found after decoding can name line and column.
//
// Paths join keys with "." and number array elements (and arrays of
// tables) from 0: "firewall.rules[1].ports[0]". For every key-value,
// key[path] is where the key starts and val[path] where the value starts;
// for a [[table]] element, val[path] is where its header starts.
type posIndex struct {
	file       string
	data       []byte
	lineStarts []int // offsets where lines start
	key        map[string]pos
	val        map[string]pos
	tables     map[string]bool // paths given as [table] or inline tables
}

// indexPositions parses data (which has already decoded without error)
// and records the positions of keys and values.
func indexPositions(file string, data []byte) *posIndex {
	ix := &posIndex{file: file, data: data, lineStarts: []int{0}, key: map[string]pos{}, val: map[string]pos{}, tables: map[string]bool{}}
	for i, b := range data {
		if b == '\n' {
			ix.lineStarts = append(ix.lineStarts, i+1)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	arrays := map[string]int{} // array-of-tables path -> element count
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, first := keyParts(e)
			path := ""
			for i, part := range parts {
				path = joinPath(path, part)
				n, isArray := arrays[path]
				switch {
				case i == len(parts)-1 && e.Kind == unstable.ArrayTable:
					arrays[path] = n + 1
					if n == 0 {
						ix.key[path] = ix.headerPos(first)
						ix.val[path] = ix.key[path]
					}
					path += "[" + strconv.Itoa(n) + "]"
				case isArray:
					path += "[" + strconv.Itoa(n-1) + "]"
				}
			}
			table = path
			if e.Kind == unstable.Table {
				ix.tables[path] = true
			}
			at := ix.headerPos(first)
			ix.key[path] = at
			ix.val[path] = at
		case unstable.KeyValue:
			ix.keyValue(table, e)
		}
	}
	return ix
}

// keyValue records a key-value expression (or an inline-table member)
// under the table path prefix.
func (ix *posIndex) keyValue(prefix string, e *unstable.Node) {
	parts, first := keyParts(e)
	path := prefix
	for _, part := range parts {
		path = joinPath(path, part)
		if _, ok := ix.key[path]; !ok {
			ix.key[path] = ix.at(first.Raw.Offset)
		}
	}
	ix.key[path] = ix.at(first.Raw.Offset)
	ix.value(path, e.Value(), ix.afterEquals(e))
}

// value records the value node v at path; fallback is used for nodes that
// carry no range (arrays).
func (ix *posIndex) value(path string, v *unstable.Node, fallback pos) {
	at := fallback
	if v.Raw.Length > 0 {
		at = ix.at(v.Raw.Offset)
	}
	ix.val[path] = at
	if v.Kind == unstable.InlineTable {
		ix.tables[path] = true
	}
	it := v.Children()
	i := 0
	for it.Next() {
		c := it.Node()
		switch v.Kind {
		case unstable.Array:
			ix.value(path+"["+strconv.Itoa(i)+"]", c, at)
			i++
		case unstable.InlineTable:
			ix.tables[path] = true
			ix.keyValue(path, c)
		}
	}
}

// keyParts returns the parts of a node's key and the first key node.
func keyParts(e *unstable.Node) ([]string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	it := e.Key()
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		parts = append(parts, string(it.Node().Data))
	}
	return parts, first
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (ix *posIndex) at(offset uint32) pos {
	off := min(int(offset), len(ix.data))
	// The last line start <= off.
	line := sort.Search(len(ix.lineStarts), func(i int) bool { return ix.lineStarts[i] > off })
	return pos{file: ix.file, line: line, col: off - ix.lineStarts[line-1] + 1}
}

// headerPos is the position of the "[" or "[[" opening a table header
// whose first key part is first.
func (ix *posIndex) headerPos(first *unstable.Node) pos {
	off := int(first.Raw.Offset)
	for off > 0 && strings.IndexByte("[ \t\"'", ix.data[off-1]) >= 0 {
		off--
	}
	return ix.at(uint32(off))
}

// afterEquals finds where the value of key-value e starts: the first
// non-blank byte after the "=" that follows the key.
func (ix *posIndex) afterEquals(e *unstable.Node) pos {
	it := e.Key()
	var last *unstable.Node
	for it.Next() {
		last = it.Node()
	}
	off := int(last.Raw.Offset + last.Raw.Length)
	for off < len(ix.data) && ix.data[off] != '=' {
		off++
	}
	if off < len(ix.data) {
		off++
	}
	for off < len(ix.data) && (ix.data[off] == ' ' || ix.data[off] == '\t') {
		off++
	}
	return ix.at(uint32(off))
}

// valueAt returns the position of the value at path, or of the nearest
// enclosing path that has one.
func (ix *posIndex) valueAt(path string) pos { return ix.lookup(ix.val, path) }

// keyAt returns the position of the key at path (or of an enclosing one).
func (ix *posIndex) keyAt(path string) pos { return ix.lookup(ix.key, path) }

func (ix *posIndex) lookup(m map[string]pos, path string) pos {
	for path != "" {
		if p, ok := m[path]; ok {
			return p
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return pos{file: ix.file, line: 1, col: 1}
}

// keyPathAt returns the path of the key that starts at line:col, if any.
func (ix *posIndex) keyPathAt(line, col int) (string, bool) {
	best := ""
	for path, p := range ix.key {
		if p.line == line && p.col == col && len(path) > len(best) {
			best = path
		}
	}
	return best, best != ""
}
