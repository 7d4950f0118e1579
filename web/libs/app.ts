// The app's own front-end code, bundled by cmd/build into static/dist/app.js.
// Each web component lives in its own module and registers itself on import.
import "./theme-toggle";
