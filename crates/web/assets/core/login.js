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

/**
 * The form an account that must set a new password sees before anything else (the platform
 * administrator's first sign-in): the current password, the new one twice.
 * `onSubmit(current, next)` changes it and resolves, or rejects with the error to show.
 */
export function ChangePasswordForm({ onSubmit, onCancel }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  async function submit(event) {
    event.preventDefault();
    if (next !== again) {
      setError(MSG.passwords_differ);
      return;
    }
    if (next === current) {
      setError(MSG.password_same);
      return;
    }
    setBusy(true);
    setError('');
    try {
      await onSubmit(current, next);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  const field = (id, label, value, set, autocomplete) => html`
    <div class="field">
      <label for=${id}>${label}</label>
      <input id=${id} name=${id} type="password" autocomplete=${autocomplete} required
        value=${value} onInput=${(e) => set(e.target.value)} />
    </div>`;
  return html`
    <main class="login">
      <form class="card change-password" onSubmit=${submit} aria-labelledby="change-title">
        <h1 id="change-title">${MSG.change_password_title}</h1>
        <p class="muted">${MSG.change_password_hint}</p>
        ${field('current-password', MSG.current_password, current, setCurrent, 'current-password')}
        ${field('new-password', MSG.new_password, next, setNext, 'new-password')}
        ${field('confirm-password', MSG.confirm_password, again, setAgain, 'new-password')}
        ${error && html`<p class="error-text" role="alert" id="change-error">${error}</p>`}
        <button class="btn primary wide" type="submit" disabled=${busy}>
          ${busy ? MSG.changing_password : MSG.change_password}
        </button>
        ${onCancel && html`<button class="btn wide" type="button" onClick=${onCancel}>${MSG.sign_out}</button>`}
      </form>
    </main>`;
}
