// Package locate finds where things are declared, so that every finding can
// point at a file and a line: resource blocks in Terraform sources, identity
// lines in a roster export, target lines in the scanner's configuration.
//
// Terraform sources are read line by line for block headers rather than
// parsed as HCL: a finding's location must not depend on every file of a
// large repository being valid HCL, and a header is one line by convention
// (terraform fmt keeps it so).
package locate

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Location is a file and a 1-based line; File is as the caller named the
// source directory, joined with the file's relative path, in slash form.
type Location struct {
	File string
	Line int
}

// IsZero reports whether the location is unknown.
func (l Location) IsZero() bool { return l.File == "" }

func (l Location) String() string {
	if l.IsZero() {
		return ""
	}
	if l.Line <= 0 {
		return l.File
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

// Index holds the block headers of every .tf file under a directory.
type Index struct {
	root string
	dirs map[string]*dirBlocks // by directory, relative to root, slash form ("." for root)
}

type dirBlocks struct {
	resources map[string]Location // "TYPE.NAME" and "data.TYPE.NAME"
	modules   map[string]module
}

type module struct {
	loc    Location
	source string
}

var (
	blockHeader = regexp.MustCompile(`^\s*(resource|data)\s+"([^"]+)"\s+"([^"]+)"`)
	moduleHead  = regexp.MustCompile(`^\s*module\s+"([^"]+)"`)
	sourceAttr  = regexp.MustCompile(`^\s*source\s*=\s*"([^"]*)"`)
)

// MaxFileBytes skips generated monsters; a .tf file this large declares
// nothing a finding should point at.
const MaxFileBytes = 16 << 20

// Scan reads every *.tf file under root (not under .terraform or hidden
// directories).
func Scan(root string) (*Index, error) {
	ix := &Index{root: root, dirs: map[string]*dirBlocks{}}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("source dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("source dir %s is not a directory", root)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".tf") {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > MaxFileBytes {
			return nil
		}
		return ix.scanFile(p)
	})
	if err != nil {
		return nil, fmt.Errorf("source dir %s: %w", root, err)
	}
	return ix, nil
}

func (ix *Index) scanFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	rel, err := filepath.Rel(ix.root, filepath.Dir(p))
	if err != nil {
		return err
	}
	dir := filepath.ToSlash(rel)
	db := ix.dirs[dir]
	if db == nil {
		db = &dirBlocks{resources: map[string]Location{}, modules: map[string]module{}}
		ix.dirs[dir] = db
	}
	file := filepath.ToSlash(filepath.Clean(p))
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		line      int
		inComment bool
		inModule  string
		depth     int
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		if inComment {
			if i := strings.Index(text, "*/"); i >= 0 {
				inComment = false
				text = text[i+2:]
			} else {
				continue
			}
		}
		if strings.HasPrefix(strings.TrimSpace(text), "/*") && !strings.Contains(text, "*/") {
			inComment = true
			continue
		}
		if m := blockHeader.FindStringSubmatch(text); m != nil {
			key := m[2] + "." + m[3]
			if m[1] == "data" {
				key = "data." + key
			}
			if _, dup := db.resources[key]; !dup {
				db.resources[key] = Location{File: file, Line: line}
			}
			inModule = ""
			continue
		}
		if m := moduleHead.FindStringSubmatch(text); m != nil {
			inModule, depth = m[1], 0
			db.modules[m[1]] = module{loc: Location{File: file, Line: line}}
		}
		if inModule != "" {
			if m := sourceAttr.FindStringSubmatch(text); m != nil && depth <= 1 {
				mod := db.modules[inModule]
				mod.source = m[1]
				db.modules[inModule] = mod
			}
			depth += strings.Count(text, "{") - strings.Count(text, "}")
			if depth <= 0 && strings.Contains(text, "}") {
				inModule = ""
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// moduleNames turns `module.apps["crm"].module.db` into [apps db].
func moduleNames(modulePath string) []string {
	var out []string
	for rest := modulePath; rest != ""; {
		rest = strings.TrimPrefix(rest, ".")
		if !strings.HasPrefix(rest, "module.") {
			break
		}
		rest = rest[len("module."):]
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			out = append(out, rest)
			break
		}
		out = append(out, rest[:end])
		rest = rest[end:]
		if strings.HasPrefix(rest, "[") {
			// Skip the key, which may itself hold dots or brackets in quotes.
			i, inStr := 1, false
			for ; i < len(rest); i++ {
				switch {
				case rest[i] == '\\' && inStr:
					i++
				case rest[i] == '"':
					inStr = !inStr
				case rest[i] == ']' && !inStr:
					goto done
				}
			}
		done:
			if i >= len(rest) {
				break
			}
			rest = rest[i+1:]
		}
	}
	return out
}

// Resource finds the block that declares a resource of type typ named name
// in the module at modulePath ("" for the root module; mode "data" for a
// data source). It follows local module sources; when it cannot, it falls
// back to the calling module block, then to any block of that type and name.
func (ix *Index) Resource(modulePath, mode, typ, name string) (Location, bool) {
	if ix == nil {
		return Location{}, false
	}
	key := typ + "." + name
	if mode == "data" {
		key = "data." + key
	}
	dir := "."
	var caller Location
	for _, m := range moduleNames(modulePath) {
		db := ix.dirs[dir]
		if db == nil {
			dir = ""
			break
		}
		mod, ok := db.modules[m]
		if !ok {
			dir = ""
			break
		}
		caller = mod.loc
		if !strings.HasPrefix(mod.source, "./") && !strings.HasPrefix(mod.source, "../") {
			dir = ""
			break
		}
		dir = filepath.ToSlash(filepath.Clean(filepath.Join(dir, mod.source)))
	}
	if db := ix.dirs[dir]; dir != "" && db != nil {
		if loc, ok := db.resources[key]; ok {
			return loc, true
		}
	}
	if !caller.IsZero() {
		return caller, true
	}
	// Any directory, in a stable order.
	dirs := make([]string, 0, len(ix.dirs))
	for d := range ix.dirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if loc, ok := ix.dirs[d].resources[key]; ok {
			return loc, true
		}
	}
	return Location{}, false
}
