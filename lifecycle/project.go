package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ProjectFile is the name of a project profile: `run` without --profile
// uses the first one found in the working directory or a parent.
const ProjectFile = ".nsjail-net.toml"

// ProjectProfile walks up from cwd to the root looking for ProjectFile and
// returns the absolute path of the first regular file of that name, or ""
// if there is none. A directory that cannot be searched is an error (the
// project file might be hidden in it), not a miss.
func ProjectProfile(cwd string) (string, error) {
	dir, err := filepath.Abs(cwd)
	if err != nil {
		return "", fmt.Errorf("project profile: %w", err)
	}
	for {
		p := filepath.Join(dir, ProjectFile)
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.Mode().IsRegular():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("project profile %s: not a regular file", p)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("project profile: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}
