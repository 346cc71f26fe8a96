//go:build mangen

package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// The generator of what make install installs besides the binary, run at
// build time (make man):
//
//	go run -tags mangen ./cmd/nsjail-net -o DIR -profiles docs/profiles.md
//
// writes nsjail-net.8 from the command definitions, nsjail-net.toml.5 from
// the profile format's documentation, and the completion scripts
// nsjail-net.bash, _nsjail-net (zsh) and nsjail-net.fish. The launcher
// itself is built without this file and without urfave/cli's generators.
func main() {
	out := flag.String("o", ".", "directory to write the pages to")
	profiles := flag.String("profiles", "docs/profiles.md", "the profile format (markdown)")
	flag.Parse()
	if err := generate(*out, *profiles); err != nil {
		fmt.Fprintf(os.Stderr, "mangen: %v\n", err)
		os.Exit(1)
	}
}

func generate(dir, profilesDoc string) error {
	md, err := os.ReadFile(profilesDoc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	app := newApp()
	app.Setup() // adds --help and --version
	pages := []struct {
		name  string
		write func(*os.File) error
	}{
		{"nsjail-net.8", func(f *os.File) error { return writeManPage(f, app, app.Version) }},
		{"nsjail-net.toml.5", func(f *os.File) error { return writeProfileManPage(f, string(md), app.Version) }},
		{"nsjail-net.bash", func(f *os.File) error { _, err := f.WriteString(bashCompletion); return err }},
		{"_nsjail-net", func(f *os.File) error { _, err := f.WriteString(zshCompletion); return err }},
		{"nsjail-net.fish", func(f *os.File) error { _, err := f.WriteString(fishCompletion); return err }},
	}
	for _, p := range pages {
		f, err := os.Create(filepath.Join(dir, p.name))
		if err != nil {
			return err
		}
		err = p.write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}
