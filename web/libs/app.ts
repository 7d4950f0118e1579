// The app's own front-end code, bundled by cmd/build into static/dist/app.js.
// Each module registers what it defines on import.
import "./command-id";
import "./error-answers";
import "./theme-toggle";

// ironstar:needs reverse
import "./reverse-text";

// ironstar:needs sortable
import "./sortable-list";
