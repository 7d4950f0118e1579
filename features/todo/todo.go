package todo

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"ironstar/es"
)

// Business rules of a todo list:
//
//   - A todo's text is trimmed; after trimming it is at most MaxTextLength
//     characters. Adding an empty text does nothing; renaming a todo to an
//     empty text deletes it; renaming to the same text does nothing.
//   - A list holds at most MaxItems todos; item IDs are unique in a list.
//   - A list's items take at most MaxListBytes as stored: encoded as JSON,
//     escaping included (a "<" is stored as \u003c, six bytes). Characters
//     alone do not bound it: 1,000 todos of 500 "<" would be 3 MB, and its
//     read model is one KV value, which NATS refuses above 1 MB. An add or a
//     rename that would take a list past the bound is refused; a rename that
//     shrinks a list already past it (stored before the bound) is not.
//     Completing and reopening change a todo's size by one byte at most, so
//     they are not checked.
//   - Commands on an item the list does not have fail with ErrNotFound.
//   - Completing a completed todo (or reopening an open one), marking all
//     when all already are, and clearing when nothing is completed do nothing.
//   - A list whose todos are all completed (at least one) can have that
//     recorded, once: ListCompleted. Recording it again, or on a list with
//     an open todo or none, does nothing. Any change that leaves the list
//     with an open todo, or empty, makes it a list to complete again. The
//     ListCompletion reactor records it (reactor.go).

// Limits.
const (
	MaxTextLength = 500
	MaxItems      = 1000
	// MaxListBytes leaves a list's read model a quarter of NATS's default
	// 1 MB payload, room for the record around it and for renamed fields.
	MaxListBytes = 256 << 10
)

// Errors a command can meet.
var (
	ErrTextTooLong  = errors.New("todo: text longer than 500 characters")
	ErrNotFound     = errors.New("todo: no such item")
	ErrDuplicateID  = errors.New("todo: item id already used")
	ErrListFull     = errors.New("todo: the list is full")
	ErrListTooLarge = errors.New("todo: the list would take more than 256 KiB as stored")
	ErrInvalidID    = errors.New("todo: invalid item id")
)

// Item is one todo in the list's state.
type Item struct {
	ID        string
	Text      string
	Completed bool
}

// List is the state of one todo list: its items in the order added, and
// whether ListCompleted was recorded since the list last had an open todo
// or none.
type List struct {
	Items   []Item
	AllDone bool
}

// everyDone reports whether the list has todos and all are completed.
func (l List) everyDone() bool {
	return len(l.Items) > 0 && !slices.ContainsFunc(l.Items, func(it Item) bool { return !it.Completed })
}

func (l List) index(id string) int {
	for i, it := range l.Items {
		if it.ID == id {
			return i
		}
	}
	return -1
}

// Commands.
type (
	// Command is anything a list can be asked to do.
	Command interface{ isCommand() }
	// Add adds a todo with a new ID (chosen by the caller).
	Add struct{ ID, Text string }
	// SetCompleted completes or reopens one todo.
	SetCompleted struct {
		ID        string
		Completed bool
	}
	// SetAllCompleted completes or reopens every todo.
	SetAllCompleted struct{ Completed bool }
	// Rename changes a todo's text.
	Rename struct{ ID, Text string }
	// Delete removes a todo.
	Delete struct{ ID string }
	// ClearCompleted removes every completed todo.
	ClearCompleted struct{}
	// RecordCompletion records that every todo is completed, if so and
	// not recorded yet.
	RecordCompletion struct{}
)

func (Add) isCommand()              {}
func (SetCompleted) isCommand()     {}
func (SetAllCompleted) isCommand()  {}
func (Rename) isCommand()           {}
func (Delete) isCommand()           {}
func (ClearCompleted) isCommand()   {}
func (RecordCompletion) isCommand() {}

// Events. Their JSON field names are the stored schema: change them only
// with a new schema version and an upcaster.
type (
	// Event is anything that happened to a list.
	Event interface{ isEvent() }
	// Added: a todo was added.
	Added struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	// Completed: a todo was completed.
	Completed struct {
		ID string `json:"id"`
	}
	// Reopened: a completed todo was made active again.
	Reopened struct {
		ID string `json:"id"`
	}
	// AllMarked: every todo was completed, or every todo reopened.
	AllMarked struct {
		Completed bool `json:"completed"`
	}
	// Renamed: a todo's text changed.
	Renamed struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	// Deleted: a todo was removed.
	Deleted struct {
		ID string `json:"id"`
	}
	// CompletedCleared: every completed todo was removed.
	CompletedCleared struct{}
	// ListCompleted: every todo of the list was completed (and the list
	// was not empty).
	ListCompleted struct{}
)

func (Added) isEvent()            {}
func (Completed) isEvent()        {}
func (Reopened) isEvent()         {}
func (AllMarked) isEvent()        {}
func (Renamed) isEvent()          {}
func (Deleted) isEvent()          {}
func (CompletedCleared) isEvent() {}
func (ListCompleted) isEvent()    {}

// The event type names, stored with every event. Renaming one orphans the
// events stored under the old name; the analytics dashboard counts by them
// too, which is why they are named here once.
const (
	TypeAdded            = "todo.added"
	TypeCompleted        = "todo.completed"
	TypeReopened         = "todo.reopened"
	TypeAllMarked        = "todo.all-marked"
	TypeRenamed          = "todo.renamed"
	TypeDeleted          = "todo.deleted"
	TypeCompletedCleared = "todo.completed-cleared"
	TypeListCompleted    = "todo.list-completed"
)

// Register adds the list's event types to a registry.
func Register(r *es.Registry) {
	es.Register[Added](r, TypeAdded, 1)
	es.Register[Completed](r, TypeCompleted, 1)
	es.Register[Reopened](r, TypeReopened, 1)
	es.Register[AllMarked](r, TypeAllMarked, 1)
	es.Register[Renamed](r, TypeRenamed, 1)
	es.Register[Deleted](r, TypeDeleted, 1)
	es.Register[CompletedCleared](r, TypeCompletedCleared, 1)
	es.Register[ListCompleted](r, TypeListCompleted, 1)
}

// Decider is a todo list's behaviour.
func Decider() es.Decider[List, Command, Event] {
	return es.Decider[List, Command, Event]{Decide: Decide, Evolve: Evolve}
}

// Decide applies the rules above to a command.
func Decide(l List, c Command) ([]Event, error) {
	switch c := c.(type) {
	case Add:
		text, err := cleanText(c.Text)
		if err != nil || text == "" {
			return nil, err
		}
		if !validID(c.ID) {
			return nil, ErrInvalidID
		}
		if l.index(c.ID) >= 0 {
			return nil, ErrDuplicateID
		}
		if len(l.Items) >= MaxItems {
			return nil, ErrListFull
		}
		return fitting(l, Added{ID: c.ID, Text: text})
	case SetCompleted:
		i := l.index(c.ID)
		switch {
		case i < 0:
			return nil, ErrNotFound
		case l.Items[i].Completed == c.Completed:
			return nil, nil
		case c.Completed:
			return []Event{Completed{ID: c.ID}}, nil
		default:
			return []Event{Reopened{ID: c.ID}}, nil
		}
	case SetAllCompleted:
		for _, it := range l.Items {
			if it.Completed != c.Completed {
				return []Event{AllMarked{Completed: c.Completed}}, nil
			}
		}
		return nil, nil
	case Rename:
		i := l.index(c.ID)
		if i < 0 {
			return nil, ErrNotFound
		}
		text, err := cleanText(c.Text)
		switch {
		case err != nil:
			return nil, err
		case text == "":
			return []Event{Deleted{ID: c.ID}}, nil
		case text == l.Items[i].Text:
			return nil, nil
		}
		return fitting(l, Renamed{ID: c.ID, Text: text})
	case Delete:
		if l.index(c.ID) < 0 {
			return nil, ErrNotFound
		}
		return []Event{Deleted{ID: c.ID}}, nil
	case ClearCompleted:
		for _, it := range l.Items {
			if it.Completed {
				return []Event{CompletedCleared{}}, nil
			}
		}
		return nil, nil
	case RecordCompletion:
		if l.everyDone() && !l.AllDone {
			return []Event{ListCompleted{}}, nil
		}
		return nil, nil
	}
	return nil, errors.New("todo: unknown command")
}

// Evolve applies an event to a list. It never changes l's items in place,
// so earlier states stay valid.
func Evolve(l List, e Event) List {
	if _, ok := e.(ListCompleted); ok {
		return List{Items: l.Items, AllDone: true}
	}
	after := evolveItems(l, e)
	after.AllDone = l.AllDone && after.everyDone()
	return after
}

// evolveItems applies an event to a list's items.
func evolveItems(l List, e Event) List {
	switch e := e.(type) {
	case Added:
		return List{Items: append(slices.Clip(l.Items), Item{ID: e.ID, Text: e.Text})}
	case Completed:
		return l.update(func(it *Item) { it.Completed = it.Completed || it.ID == e.ID })
	case Reopened:
		return l.update(func(it *Item) { it.Completed = it.Completed && it.ID != e.ID })
	case AllMarked:
		return l.update(func(it *Item) { it.Completed = e.Completed })
	case Renamed:
		return l.update(func(it *Item) {
			if it.ID == e.ID {
				it.Text = e.Text
			}
		})
	case Deleted:
		return l.without(func(it Item) bool { return it.ID == e.ID })
	case CompletedCleared:
		return l.without(func(it Item) bool { return it.Completed })
	}
	return l
}

// fitting returns e if the list after it takes at most MaxListBytes as
// stored, or no more than before; otherwise ErrListTooLarge.
func fitting(l List, e Event) ([]Event, error) {
	after := Evolve(l, e)
	if maxStoredSize(after) <= MaxListBytes {
		return []Event{e}, nil
	}
	if size := storedSize(after); size > MaxListBytes && size > storedSize(l) {
		return nil, ErrListTooLarge
	}
	return []Event{e}, nil
}

// storedSize is the size of l's items as the read model stores them
// (ListView's items, measured with encoding/json: the same field names and
// escaping), rather than counted by hand, so that it cannot drift from what
// is stored.
func storedSize(l List) int {
	data, err := json.Marshal(toView(l).Items)
	if err != nil {
		return 0 // strings and bools always encode
	}
	return len(data)
}

// maxStoredSize bounds storedSize from above without encoding, so that
// only lists near MaxListBytes pay for measuring: encoding/json writes no
// byte of a string as more than six (\u003c, or \ufffd for a byte that is
// not UTF-8), and an item's names and punctuation take at most
// emptyItemSize (an empty item, not completed: "false" is the longer).
func maxStoredSize(l List) int {
	n := len("[]")
	for _, it := range l.Items {
		n += emptyItemSize + len(",") + 6*(len(it.ID)+len(it.Text))
	}
	return n
}

var emptyItemSize = storedSize(List{Items: []Item{{}}}) - len("[]")

// update returns a copy of l with change applied to every item.
func (l List) update(change func(*Item)) List {
	items := slices.Clone(l.Items)
	for i := range items {
		change(&items[i])
	}
	return List{Items: items}
}

// without returns a copy of l without the items drop selects.
func (l List) without(drop func(Item) bool) List {
	return List{Items: slices.DeleteFunc(slices.Clone(l.Items), drop)}
}

func cleanText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxTextLength {
		return "", ErrTextTooLong
	}
	return s, nil
}

// validID accepts 1–64 characters of [A-Za-z0-9_-]: what the browser's
// crypto.randomUUID or the server's generator produce.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
