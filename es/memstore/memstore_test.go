package memstore_test

import (
	"testing"

	"ironstar/es/memstore"
	"ironstar/es/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return memstore.New() })
}

func TestSnapshotContract(t *testing.T) {
	storetest.RunSnapshots(t, memstore.NewSnapshots())
}

func TestHandlerContract(t *testing.T) {
	storetest.RunHandler(t, memstore.New(), memstore.NewSnapshots())
}

func TestCacheContract(t *testing.T) {
	storetest.RunCache(t, memstore.New(), memstore.NewSnapshots())
}
