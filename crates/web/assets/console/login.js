import { html, useState } from '../core/ui.js';
import { api } from '../core/api.js';
import { MSG } from '../core/messages.js';

/** Sign-in. After signing in, back to `next` (the view the user was on), or the overview. */
export function Login({ next, expired }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [touched, setTouched] = useState(false);
  // Until the user tries again, say why they are here.
  const message = error || (expired && !touched ? MSG.session_expired : '');

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setTouched(true);
    setError('');
    try {
      await api.login(username.trim(), password);
      location.hash = `#${next || '/overview'}`;
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  return html`
    <main class="login">
      <form class="card" onSubmit=${submit} aria-labelledby="login-title">
        <h1 id="login-title">党员组织关系集中排查</h1>
        <p class="muted">请使用本单位分配的账号登录</p>
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
