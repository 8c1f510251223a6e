import { html } from '../core/ui.js';
import { api } from '../core/api.js';
import { MSG } from '../core/messages.js';
import { ChangePasswordForm, LoginForm } from '../core/login.js';

/** Sign-in. After signing in, back to `next` (the view the user was on), or the overview. */
export function Login({ next, expired }) {
  async function signIn(username, password) {
    await api.login(username, password);
    location.hash = `#${next || '/overview'}`;
  }
  return html`<${LoginForm} title="党员组织关系集中排查" hint="请使用本单位分配的账号登录"
    notice=${expired ? MSG.session_expired : ''} onSubmit=${signIn} />`;
}

/**
 * Before anything else, an account that must set a new password (the platform administrator's
 * first sign-in) sets it; then the console opens the view the address names.
 */
export function ChangePassword() {
  async function change(current, password) {
    await api.changePassword(current, password);
  }
  return html`<${ChangePasswordForm} onSubmit=${change} onCancel=${() => api.logout()} />`;
}
