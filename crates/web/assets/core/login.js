// The sign-in form both faces show: username and password, the server's Chinese message on a
// refusal. What happens after signing in is the face's.

import { html, useState } from './ui.js';
import { MSG } from './messages.js';

/**
 * `onSubmit(username, password)` signs in and resolves, or rejects with the error to show;
 * `notice` is said until the user tries (e.g. why they are here).
 */
export function LoginForm({ title, hint, notice, onSubmit }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [touched, setTouched] = useState(false);
  const message = error || (!touched ? notice : '');

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setTouched(true);
    setError('');
    try {
      await onSubmit(username.trim(), password);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  return html`
    <main class="login">
      <form class="card" onSubmit=${submit} aria-labelledby="login-title">
        <h1 id="login-title">${title}</h1>
        <p class="muted">${hint}</p>
        <div class="field">
          <label for="username">${MSG.username}</label>
          <input id="username" name="username" autocomplete="username" required
            value=${username} onInput=${(e) => setUsername(e.target.value)} />
        </div>
        <div class="field">
          <label for="password">${MSG.password}</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required
            value=${password} onInput=${(e) => setPassword(e.target.value)} />
        </div>
        ${message && html`<p class="error-text" role="alert" id="login-error">${message}</p>`}
        <button class="btn primary wide" type="submit" disabled=${busy}>
          ${busy ? MSG.signing_in : MSG.sign_in}
        </button>
      </form>
    </main>`;
}
