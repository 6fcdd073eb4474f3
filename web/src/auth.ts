// The collector's bearer token. The page keeps it in sessionStorage (this tab only), sends
// it on every request (api.ts) and asks for it with a form when it has none or the collector
// refuses it (401). A link "/#token=…", as `npm start` prints, hands it over: a fragment never
// reaches the server or its log, and the page takes it out of the address bar first.
import { currentToken, keepToken, storedToken, whenRefused } from "./api.ts";
import { byId } from "./dom.ts";
import { takeTokenFromHash } from "./format.ts";

let needed = false;
let message: string | null = null;

export const needsToken = (): boolean => needed;

function render(): void {
  document.body.classList.toggle("needs-token", needed);
  byId("signin").hidden = !needed;
  byId("signout").hidden = needed || !currentToken();
  const error = byId("signin-error");
  error.hidden = !message;
  error.textContent = message ?? "";
}

/** Takes a "#token=…" out of the address bar; the token, if the link held one. */
function tokenFromLink(): string | null {
  const linked = takeTokenFromHash(location.hash);
  if (!linked.found) return null;
  history.replaceState(history.state, "", location.pathname + location.search + linked.rest);
  return linked.token;
}

/** Sets up the form; `signedIn` runs once a token is there to try (again after each sign-in). */
export function startAuth(signedIn: () => void): void {
  const signIn = (token: string) => {
    keepToken(token);
    message = null;
    const wasNeeded = needed;
    needed = false;
    render();
    if (wasNeeded) signedIn();
  };
  const linked = tokenFromLink();
  if (linked) keepToken(linked);
  else keepToken(storedToken());
  needed = !currentToken();

  // A refusal of a token already replaced (an answer in flight when the user signed in again) says nothing of the current one.
  whenRefused((sent) => {
    if (needed || sent !== currentToken()) return;
    message = sent
      ? "The collector refused this token. A collector without a configured token makes a new one each time it starts: enter its current token."
      : null;
    keepToken(null);
    needed = true;
    render();
    byId("token-input").focus();
  });
  byId("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>("token-input");
    const token = input.value.trim();
    input.value = "";
    if (token) signIn(token);
  });
  window.addEventListener("hashchange", () => {
    const token = tokenFromLink();
    if (token) signIn(token);
  });
  byId("signout").addEventListener("click", () => {
    keepToken(null);
    location.reload(); // a fresh page: nothing the token fetched stays on screen
  });
  render();
  if (needed) byId("token-input").focus();
  else signedIn();
}
