// ironstarCommandId() names one user action. Datastar actions send it as
// the Idempotency-Key header; a retried request repeats it, so the server
// stores the command once. crypto.randomUUID needs a secure context
// (https or localhost); elsewhere random bytes do the same job.
// ironstarCommand() is the options every command action takes
// (`@post(url, ironstarCommand())`): written once here rather than in
// every button of every rendered list, whose frames it made a fifth larger.
declare global {
  interface Window {
    ironstarCommandId: () => string;
    ironstarCommand: () => { headers: Record<string, string> };
  }
}

window.ironstarCommandId = () => {
  if (typeof crypto.randomUUID === "function") {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
};

window.ironstarCommand = () => ({
  headers: { "Idempotency-Key": window.ironstarCommandId() },
});

export {};
