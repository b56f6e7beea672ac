// How the dashboard is signed in: an owner token typed into the page (kept in this tab's
// sessionStorage, sent as the Authorization header), or a session started through the
// company's identity provider. The session itself is an HttpOnly cookie this script never
// sees; what it keeps, in memory only, is the session's CSRF token, sent back in
// X-CSRF-Token with every request (the service refuses changing requests without it).
import { tokenStore } from "./common.js";

const ENDED = "Your session has ended (it expired, or you signed out elsewhere): sign in again.";

export function ownerCredentials() {
  const tokens = tokenStore("license-sync.owner-token");
  let session = null;
  let identityProvider = false;
  return {
    get: () => tokens.get() || (session ? "session" : null),
    set: (token) => tokens.set(token),
    /** Forget whatever signed this tab in (the server's session is ended by signOut). */
    clear() {
      tokens.clear();
      session = null;
    },
    dropToken: () => tokens.clear(),
    headers() {
      if (tokens.get()) return tokens.headers();
      return session ? { "X-CSRF-Token": session.csrf_token } : null;
    },
    credentials: () => (tokens.get() ? "omit" : "same-origin"),
    refused: () => (session ? ENDED : null),
    session: () => session,
    identityProvider: () => identityProvider,

    /**
     * Asks the service whether this browser has a session; resolves a message when one
     * existed and has ended, else null.
     */
    async load() {
      let response;
      try {
        response = await fetch("/auth/session", { cache: "no-store", credentials: "same-origin" });
      } catch {
        throw new Error("This service did not answer /auth/session: is it running, and is the network up?");
      }
      if (response.status === 401) {
        session = null;
        return ENDED;
      }
      if (!response.ok) throw new Error(`/auth/session answered ${response.status}`);
      const answer = await response.json();
      identityProvider = answer.identity_provider;
      session = answer.signed_in ? answer : null;
      return null;
    },
  };
}
