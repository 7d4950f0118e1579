package es

import (
	"context"
	"sync"
)

// streamLocks lets one command at a time run against each aggregate in
// this process. Writers on one process then queue instead of colliding and
// retrying; optimistic concurrency still guards against other processes.
type streamLocks struct {
	mu sync.Mutex
	m  map[StreamID]*streamLock
}

type streamLock struct {
	sem   chan struct{} // holds a token while the lock is held
	users int           // holders and waiters; the entry goes at zero
}

// lock waits for the aggregate's turn (or ctx) and returns the unlock.
func (l *streamLocks) lock(ctx context.Context, id StreamID) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[StreamID]*streamLock{}
	}
	e, ok := l.m[id]
	if !ok {
		e = &streamLock{sem: make(chan struct{}, 1)}
		l.m[id] = e
	}
	e.users++
	l.mu.Unlock()

	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if e.users--; e.users == 0 {
			delete(l.m, id)
		}
	}
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
