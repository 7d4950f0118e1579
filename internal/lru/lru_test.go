package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestTheLeastRecentlyUsedEntryGoesFirst(t *testing.T) {
	t.Parallel()
	c := New[string, int](2)
	c.Put("a", 1)
	c.Put("b", 2)
	if v, ok := c.Get("a"); !ok || v != 1 { // a is now the most recent
		t.Fatalf("Get(a) = %d, %v; want 1", v, ok)
	}
	c.Put("c", 3) // over the size: b goes
	if _, ok := c.Get("b"); ok {
		t.Error("b is still there; want it forgotten as the least recently used")
	}
	for key, want := range map[string]int{"a": 1, "c": 3} {
		if v, ok := c.Get(key); !ok || v != want {
			t.Errorf("Get(%s) = %d, %v; want %d", key, v, ok, want)
		}
	}
	c.Put("a", 10) // a replaced value, not a new entry
	if v, _ := c.Get("a"); v != 10 || c.Len() != 2 {
		t.Errorf("after replacing a: Get(a) = %d, Len = %d; want 10 and 2", v, c.Len())
	}
	c.Remove("a")
	if _, ok := c.Get("a"); ok || c.Len() != 1 {
		t.Errorf("after Remove(a): still there %v, Len = %d; want gone and 1", ok, c.Len())
	}
}

func TestTheCacheStaysWithinItsSizeUnderConcurrentUse(t *testing.T) {
	t.Parallel()
	c := New[string, int](50)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				key := fmt.Sprint(w, "-", i%80)
				c.Put(key, i)
				c.Get(key)
				if i%7 == 0 {
					c.Remove(key)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 50 {
		t.Errorf("Len = %d, want at most 50", n)
	}
}
