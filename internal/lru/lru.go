// Package lru is a bounded map that forgets its least recently used entry
// when full: what the command path keeps in memory (aggregates' folded
// state, kept sessions) so that a command of a known key reads nothing.
//
// It is a map and a container/list under one mutex, every operation O(1).
// Hand-written rather than a library's (hashicorp/golang-lru is the usual
// one) because this is all the project needs of it — no expiry callbacks,
// no 2Q or ARC — and it is shorter than the dependency's API.
package lru

import (
	"container/list"
	"sync"
)

// Cache holds at most its size of entries. It is safe for concurrent use.
// A nil *Cache is a cache of no entries: Get misses, Put and Remove do
// nothing, so "no cache" needs no check at every call.
// Values are handed out as they were added: a value holding slices or maps
// must not be changed by whoever gets it, or every later Get sees it.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	size  int
	items map[K]*list.Element // of *entry[K, V]
	order *list.List          // most recently used first
}

type entry[K comparable, V any] struct {
	key   K
	value V
}

// New returns an empty cache of at most size entries (at least one).
func New[K comparable, V any](size int) *Cache[K, V] {
	return &Cache[K, V]{size: max(size, 1), items: map[K]*list.Element{}, order: list.New()}
}

// Get returns key's value and marks it the most recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).value, true
}

// Put sets key's value, the most recently used, and forgets the least
// recently used entry if the cache is over its size.
func (c *Cache[K, V]) Put(key K, value V) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*entry[K, V]).value = value
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry[K, V]{key, value})
	if c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry[K, V]).key)
	}
}

// Remove forgets key.
func (c *Cache[K, V]) Remove(key K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.Remove(el)
		delete(c.items, key)
	}
}

// Len is how many entries the cache holds.
func (c *Cache[K, V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
