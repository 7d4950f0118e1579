package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ProcessOptions describe a program of the cluster other than
// nats-server: an app instance, an analytics engine, Caddy.
type ProcessOptions struct {
	// Name tells the process apart in logs, e.g. "app1".
	Name string
	// Bin is the binary; it runs in the caller's working directory.
	Bin string
	// Args are its command-line arguments.
	Args []string
	// Env is added to this process's environment.
	Env []string
	// Output receives its stdout and stderr (discarded if nil).
	Output io.Writer
}

// Process is a running (or ended) program of the cluster. Restart starts
// it again on the same options, as a supervisor would.
type Process struct {
	opts   ProcessOptions
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartProcess starts the program; it dies with the caller (DieWithParent).
func StartProcess(opts ProcessOptions) (*Process, error) {
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	p := &Process{opts: opts}
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Process) start() error {
	cmd := exec.Command(p.opts.Bin, p.opts.Args...)
	cmd.Env = append(os.Environ(), p.opts.Env...)
	cmd.Stdout, cmd.Stderr = p.opts.Output, p.opts.Output
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster: start %s (%s): %w", p.opts.Name, p.opts.Bin, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		cmd.Wait()
		close(done)
	}(p.exited)
	return nil
}

// Name is the process's name from its options.
func (p *Process) Name() string { return p.opts.Name }

// PID is the process ID of its latest start.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the latest start has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Kill ends the process at once with SIGKILL, as a crash would: no
// shutdown, no goodbye to NATS.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: kill %s: %w", p.opts.Name, err)
	}
	<-p.exited
	return nil
}

// Stop asks the process to stop (SIGTERM) and kills it if it is still
// running after timeout.
func (p *Process) Stop(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: stop %s: %w", p.opts.Name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("cluster: %s still ran %s after SIGTERM; killed", p.opts.Name, timeout)
	}
}

// Restart starts an ended process again with the same options.
func (p *Process) Restart() error {
	select {
	case <-p.exited:
	default:
		return fmt.Errorf("cluster: %s is running", p.opts.Name)
	}
	return p.start()
}
