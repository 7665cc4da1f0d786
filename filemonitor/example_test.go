package filemonitor_test

import (
	"fmt"
	"log"

	"github.com/workerman-go/workerman/filemonitor"
)

// A program adds the monitor next to its workers, before RunAll. In debug
// mode (start), rebuilding the program or editing a template reloads the
// workers.
func ExampleNew() {
	w, err := filemonitor.New(filemonitor.Options{
		Dirs:       []string{"."},
		Extensions: []string{".html", ".json"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Name, w.Count, w.Reloadable)
	// workerman.RunAll()

	// Output: FileMonitor 1 false
}
