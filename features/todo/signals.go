package todo

import "ironstar/features/todo/pages"

// signals are the page's signals that commands read (see pages.Signals).
type signals = pages.Signals
