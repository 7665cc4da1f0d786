// Package unix is the part of golang.org/x/sys/unix that the framework's
// portable code calls, so that the framework builds where that package
// does not exist.
//
// On Unix systems every name forwards to golang.org/x/sys/unix (types are
// aliases, functions are wrappers the compiler inlines). On other systems
// (Windows) the names exist with the same types, and every function fails
// with an error that matches errors.ErrUnsupported: the framework serves
// connections there through goroutines (the portable mode), never through
// descriptors, so these functions are not reached in normal operation.
//
// Code that needs a call only some systems have (accept4, SO_PEERCRED,
// memfd) stays in files for those systems and imports golang.org/x/sys/unix
// itself. A new name used by the portable code is added here on both sides.
package unix
