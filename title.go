package workerman

import (
	"encoding/json"
	"fmt"
	"os"
)

// Process titles. ps and top should tell the master and the worker
// processes apart, as the manual's recipes assume (ps aux | grep
// WorkerMan). Every process the framework starts itself is started with
// its title as its whole command line, the way PHP Workerman's
// cli_set_process_title shows them:
//
//	WorkerMan: master process  start_file=/srv/app/bin/webchat
//	WorkerMan: worker process  chat id=1 websocket://0.0.0.0:8081
//
// The master of a foreground start is the launching process itself,
// replaced by the program started again (exec, same process id) with its
// title; the daemon master and the worker processes are started with
// theirs. The program's real arguments travel in the environment variable
// WORKERMAN_ARGS, and this package puts them back into os.Args before the
// program's main runs, so flags parse as usual.
//
// Limits: the process name that top, pgrep and killall match (the
// kernel's comm) stays the executable's file name, so `killall webchat`
// still works; /proc/PID/cmdline shows the title instead of the program's
// path and arguments (/proc/PID/exe and ps -o comm still name the
// program); a package initialized before this one that read os.Args at
// initialization saw the title; and a process started by other means
// (SingleProcess, a command such as status) keeps its own command line.

const (
	// envArgs holds the program's real arguments (JSON) in a process
	// started with a title.
	envArgs = "WORKERMAN_ARGS"
	// envMaster marks the foreground master, started by the start command
	// with its title.
	envMaster = "WORKERMAN_MASTER"
)

func init() {
	if v, ok := os.LookupEnv(envArgs); ok {
		os.Unsetenv(envArgs)
		var args []string
		if json.Unmarshal([]byte(v), &args) == nil && len(args) > 0 {
			os.Args = args
		}
	}
}

// masterTitle is the master's command line.
func masterTitle(exe string) string {
	return "WorkerMan: master process  start_file=" + exe
}

// workerTitle is the command line of a worker process.
func workerTitle(w *Worker, id int) string {
	t := fmt.Sprintf("WorkerMan: worker process  %s id=%d", w.Name, id)
	if w.socketName != "" {
		t += " " + w.socketName
	}
	return t
}

// titled returns the argument list and environment that start a process
// with title as its command line and args as its os.Args.
func titled(title string, args, env []string) ([]string, []string) {
	b, _ := json.Marshal(args)
	return []string{title}, append(append([]string(nil), env...), envArgs+"="+string(b))
}

// roleEnv returns the environment without the variables that tell a
// process its role, for the processes the framework starts.
func roleEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !hasEnvKey(kv, envChild) && !hasEnvKey(kv, envDaemon) && !hasEnvKey(kv, envArgs) && !hasEnvKey(kv, envMaster) {
			env = append(env, kv)
		}
	}
	return env
}
