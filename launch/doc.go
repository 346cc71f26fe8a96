// Package launch runs one sandbox from start to finish: it turns a profile
// and a command into host resources, an init stage and a supervised program,
// and undoes every resource it created, in reverse, whatever happens.
package launch
