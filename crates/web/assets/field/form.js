// The 党员信息采集表 (info form) on site: how the member confirms (on site, by post, fax or
// e-mail, or with help at home), the two-inch photos from the camera, the member's handwritten
// signature on the screen, and the rest of the form. Photos are compressed on the phone (the
// longest edge at most 1600 px by default, JPEG) and kept in the replica under their SHA-256
// until the server has them; only then are they named in the form (core/sync.js).

import { html, useState, useEffect, useRef } from '../core/ui.js';
import { api } from '../core/api.js';
import { uuid7 } from '../core/ids.js';
import { blobHash } from '../core/sha256.js';
import { chinaToday } from '../core/format.js';
import { ctx, useReplica } from './app.js';
import { FieldInput, formComplete } from './members.js';

/** The longest edge of a photo after compression; a setting of the device (同步 page). */
export function maxEdge() {
  return Number(localStorage.getItem('paicha.field.max_edge')) || 1600;
}

/** A photo as a JPEG whose longest edge is at most `edge` pixels. */
export async function compress(file, edge = maxEdge()) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, edge / Math.max(bitmap.width, bitmap.height));
  const w = Math.round(bitmap.width * scale);
  const h = Math.round(bitmap.height * scale);
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w, h);
  g.drawImage(bitmap, 0, 0, w, h);
  bitmap.close?.();
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('无法压缩照片'))), 'image/jpeg', 0.85));
}

/** A kept blob (photo or signature) as an image, from the replica or, once linked, the server. */
export function BlobImage({ sha256, alt }) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    let revoked = null;
    let live = true;
    ctx.replica.blobData(sha256).then(async (data) => {
      let blob = data;
      if (!blob) {
        try {
          const r = await api.request('GET', `/v1/blobs/${sha256}`, { blob: true });
          blob = r.blob;
        } catch {
          blob = null;
        }
      }
      if (blob && live) {
        revoked = URL.createObjectURL(blob);
        setUrl(revoked);
      }
    });
    return () => {
      live = false;
      if (revoked) URL.revokeObjectURL(revoked);
    };
  }, [sha256]);
  const info = ctx.replica.blobInfo.get(sha256);
  return html`<figure class="thumb" data-blob=${sha256}>
    ${url ? html`<img src=${url} alt=${alt} />` : html`<div class="placeholder">${alt}</div>`}
    <figcaption class="small">${info && !info.uploaded ? `待上传${info.received ? `（${Math.round((100 * info.received) / info.size)}%）` : ''}` : ''}</figcaption>
  </figure>`;
}

/** A handwritten signature on a canvas; `onDone(blob)` with a PNG. */
function SignaturePad({ onDone }) {
  const canvas = useRef(null);
  const [drawn, setDrawn] = useState(false);
  useEffect(() => {
    const c = canvas.current;
    const ratio = window.devicePixelRatio || 1;
    c.width = c.clientWidth * ratio;
    c.height = c.clientHeight * ratio;
    const g = c.getContext('2d');
    g.scale(ratio, ratio);
    g.lineWidth = 2.5;
    g.lineCap = 'round';
    g.lineJoin = 'round';
    g.strokeStyle = '#111';
    let last = null;
    const at = (e) => {
      const r = c.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    const down = (e) => {
      try {
        c.setPointerCapture(e.pointerId);
      } catch {
        // A pointer the browser does not track (synthetic events): draw without capture.
      }
      last = at(e);
      e.preventDefault();
    };
    const move = (e) => {
      if (!last) return;
      const p = at(e);
      g.beginPath();
      g.moveTo(...last);
      g.lineTo(...p);
      g.stroke();
      last = p;
      setDrawn(true);
      e.preventDefault();
    };
    const up = () => {
      last = null;
    };
    c.addEventListener('pointerdown', down);
    c.addEventListener('pointermove', move);
    c.addEventListener('pointerup', up);
    c.addEventListener('pointercancel', up);
    return () => {
      c.removeEventListener('pointerdown', down);
      c.removeEventListener('pointermove', move);
      c.removeEventListener('pointerup', up);
      c.removeEventListener('pointercancel', up);
    };
  }, []);
  function clear() {
    const c = canvas.current;
    c.getContext('2d').clearRect(0, 0, c.width, c.height);
    setDrawn(false);
  }
  function done() {
    const c = canvas.current;
    // White under the ink, so the PNG reads on any background.
    const out = document.createElement('canvas');
    out.width = c.width;
    out.height = c.height;
    const g = out.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, out.width, out.height);
    g.drawImage(c, 0, 0);
    out.toBlob((b) => b && onDone(b), 'image/png');
  }
  return html`<div class="signature">
    <canvas ref=${canvas} id="signature-pad" aria-label="请党员在此处手写签名"></canvas>
    <div class="buttons">
      <button type="button" class="btn small" onClick=${clear}>重写</button>
      <button type="button" class="btn small primary" id="signature-done" disabled=${!drawn} onClick=${done}>确认签名</button>
    </div>
  </div>`;
}

const FORM_FIELDS = ['confirmed_on', 'copies', 'pledge_signed', 'secretary_signed', 'helper_name', 'remarks'];

/** Which verification outcome each way of confirming is (docs/domain.md §4.1, §6.1). */
const OUTCOME = {
  on_site: 'confirmed_on_site',
  post: 'confirmed_remote',
  fax: 'confirmed_remote',
  email: 'confirmed_remote',
  assisted_home_visit: 'confirmed_assisted',
  pending_lost: 'pending_lost',
};

export function InfoForm({ memberId, formId }) {
  const replica = useReplica();
  const member = replica.record('members', memberId);
  const existing = formId
    ? replica.record('info_forms', formId)
    : [...replica.view('info_forms').values()].find((f) => f.fields.member_id === memberId) ?? null;
  const [draft, setDraft] = useState(() => ({
    confirmation_mode: 'on_site',
    confirmed_on: chinaToday(),
    copies: 3,
    ...(existing?.fields ?? {}),
  }));
  const [photos, setPhotos] = useState([]);
  const [signature, setSignature] = useState(null);
  const [fingerprint, setFingerprint] = useState(null);
  const [flag, setFlag] = useState(null);
  const [remoteReason, setRemoteReason] = useState(member?.fields.remote_reason ?? '');
  const [exception, setException] = useState(member?.fields.confirmation_exception ?? '');
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState('');
  if (!member) return html`<p class="card">找不到该党员。</p>`;
  const kept = existing?.fields.photos ?? [];
  const waiting = replica.links.filter((l) => l.sha256 && l.id === existing?.id);
  const has = (field, fresh) => Boolean(existing?.fields[field] || waiting.some((l) => l.field === field) || fresh);
  const mode = draft.confirmation_mode;
  const remoteMode = ['post', 'fax', 'email'].includes(mode);
  // Whether the form will be complete and signed once its photos are named in it (§8.7).
  const complete = formComplete({
    confirmation_mode: mode,
    copies: draft.copies,
    photos: Array(kept.length + waiting.filter((l) => l.field === 'photos').length + photos.length).fill('x'),
    signature: has('signature', signature) ? 'x' : null,
    fingerprint: has('fingerprint', fingerprint) ? 'x' : null,
    flag_photo: has('flag_photo', flag) ? 'x' : null,
  });
  const spec = (n) => ctx.schema.field('info_forms', n);
  const set = (n) => (v) => setDraft({ ...draft, [n]: v });

  async function addPhotos(e) {
    const files = [...e.target.files];
    e.target.value = '';
    setBusy('正在压缩照片……');
    try {
      const taken = [];
      for (const file of files) {
        const jpeg = await compress(file);
        taken.push({ blob: jpeg, sha256: await blobHash(jpeg), url: URL.createObjectURL(jpeg) });
      }
      setPhotos([...photos, ...taken]);
    } catch (err) {
      setErrors({ ...errors, photos: `照片无法读取：${err.message}` });
    } finally {
      setBusy('');
    }
  }

  /** One photo for a single-photo field (the fingerprint, the photo under the flag). */
  const takeOne = (setter, field) => async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    setBusy('正在压缩照片……');
    try {
      const jpeg = await compress(file);
      setter({ blob: jpeg, sha256: await blobHash(jpeg), url: URL.createObjectURL(jpeg) });
    } catch (err) {
      setErrors({ ...errors, [field]: `照片无法读取：${err.message}` });
    } finally {
      setBusy('');
    }
  };

  async function takeSignature(png) {
    setSignature({ blob: png, sha256: await blobHash(png), url: URL.createObjectURL(png) });
  }

  async function save(e) {
    e.preventDefault();
    const fields = { member_id: memberId };
    for (const [k, v] of Object.entries(draft)) {
      if (['photos', 'signature', 'fingerprint', 'flag_photo'].includes(k)) continue;
      if (v !== null && v !== '' && v !== undefined) fields[k] = typeof v === 'string' ? v.trim() : v;
    }
    const found = ctx.schema.check('info_forms', fields, Object.keys(fields), { creating: !existing });
    if (remoteMode && !remoteReason.trim()) found.remote_reason = '远程确认须填写原因：确有困难无法到场的，方可邮寄、传真或电子邮件确认';
    setErrors(found);
    if (Object.keys(found).length) return;
    const id = existing?.id ?? uuid7();
    if (existing) {
      const changed = {};
      for (const [k, v] of Object.entries(fields)) if (JSON.stringify(existing.fields[k]) !== JSON.stringify(v)) changed[k] = v;
      if (Object.keys(changed).length) await replica.enqueue({ collection: 'info_forms', id, op: 'patch', fields: changed });
    } else {
      await replica.enqueue({ collection: 'info_forms', id, op: 'put', org_unit_id: member.org_unit_id, fields });
    }
    // Photos and the signature wait in the replica; they are named in the form once uploaded.
    for (const p of photos) await replica.addBlob(p.sha256, p.blob, { collection: 'info_forms', id, field: 'photos', list: true });
    if (signature) await replica.addBlob(signature.sha256, signature.blob, { collection: 'info_forms', id, field: 'signature', list: false });
    if (fingerprint) await replica.addBlob(fingerprint.sha256, fingerprint.blob, { collection: 'info_forms', id, field: 'fingerprint', list: false });
    if (flag) await replica.addBlob(flag.sha256, flag.blob, { collection: 'info_forms', id, field: 'flag_photo', list: false });
    // The way of confirming is the member's verification outcome, where the machine allows it:
    // on a complete form, or with the reason why there is none; a remote one with why the
    // member could not come. It goes once the form's photos are named in it on the server, so
    // the server sees the form complete when the member is confirmed.
    const outcome = OUTCOME[fields.confirmation_mode];
    if (outcome && ctx.schema.nextStates('members', 'roster_status', member.fields.roster_status, replica.get('user').role).includes(outcome)) {
      const change = { roster_status: outcome };
      if (remoteMode) change.remote_reason = remoteReason.trim();
      const confirming = outcome.startsWith('confirmed_');
      if (confirming && !complete && exception.trim()) change.confirmation_exception = exception.trim();
      if (!confirming || complete || change.confirmation_exception) {
        const mutation = { collection: 'members', id: memberId, op: 'patch', fields: change };
        if (photos.length || signature || fingerprint || flag) await replica.addThen({ collection: 'info_forms', id }, mutation);
        else await replica.enqueue(mutation);
      }
    }
    ctx.sync.kick();
    location.hash = `#/m/${memberId}`;
  }

  const single = (field, label, value, setter, inputId) => html`<div class="field" data-field=${field}>
      <label>${label}</label>
      ${existing?.fields[field] && html`<${BlobImage} sha256=${existing.fields[field]} alt=${label} />`}
      ${value && html`<figure class="thumb new one"><img src=${value.url} alt=${`新${label}`} /><figcaption class="small">待保存</figcaption></figure>`}
      <label class="btn small camera">${value || existing?.fields[field] ? '重拍' : '拍照'}
        <input type="file" accept="image/*" capture="environment" id=${inputId} class="sr-only" onChange=${takeOne(setter, field)} />
      </label>
      ${errors[field] && html`<p class="field-error">${errors[field]}</p>`}
    </div>`;
  return html`<form class="card form info-form" onSubmit=${save} data-form="info_forms">
    <a href=${`#/m/${memberId}`} class="back">‹ ${member.fields.name}</a>
    <h1>党员信息采集表</h1>
    <${FieldInput} collection="info_forms" spec=${spec('confirmation_mode')} value=${draft.confirmation_mode}
      onChange=${set('confirmation_mode')} error=${errors.confirmation_mode} />
    <div class="field" data-field="photos">
      <label>${spec('photos').label}</label>
      <div class="thumbs">
        ${kept.map((h) => html`<${BlobImage} sha256=${h} alt="照片" />`)}
        ${waiting.filter((l) => l.field === 'photos').map((l) => html`<${BlobImage} sha256=${l.sha256} alt="照片" />`)}
        ${photos.map((p) => html`<figure class="thumb new"><img src=${p.url} alt="新照片" /><figcaption class="small">待保存</figcaption></figure>`)}
      </div>
      <label class="btn camera">拍照或选择照片
        <input type="file" accept="image/*" capture="environment" multiple id="photo-input" class="sr-only" onChange=${addPhotos} />
      </label>
      ${busy && html`<p class="muted" role="status">${busy}</p>`}
      ${errors.photos && html`<p class="field-error">${errors.photos}</p>`}
    </div>
    <div class="field" data-field="signature">
      <label>${spec('signature').label}</label>
      ${existing?.fields.signature && html`<${BlobImage} sha256=${existing.fields.signature} alt="签名" />`}
      ${signature
        ? html`<figure class="thumb new sig"><img src=${signature.url} alt="新签名" /><figcaption class="small">待保存</figcaption></figure>
            <button type="button" class="btn small" onClick=${() => setSignature(null)}>重新签名</button>`
        : html`<${SignaturePad} onDone=${takeSignature} />`}
    </div>
    ${single('fingerprint', '手印', fingerprint, setFingerprint, 'fingerprint-input')}
    ${mode === 'on_site' && single('flag_photo', '党旗下照片', flag, setFlag, 'flag-input')}
    ${remoteMode && html`<div class="field" data-field="remote_reason">
      <label for="form-remote-reason">远程确认原因（确有困难无法到场）</label>
      <input id="form-remote-reason" value=${remoteReason} onInput=${(e) => setRemoteReason(e.target.value)} />
      ${errors.remote_reason && html`<p class="field-error">${errors.remote_reason}</p>`}
    </div>`}
    ${OUTCOME[mode]?.startsWith('confirmed_') && !complete && html`<div class="field notice" data-field="confirmation_exception" id="form-incomplete">
      <p class="small">采集表尚未齐全（须3份、3张照片、本人签字和手印${mode === 'on_site' ? '、党旗下照片' : ''}${mode === 'assisted_home_visit' ? '；上门协助的签字或手印其一' : ''}）。
        齐全后方可确认；确有特殊情况的，请填写理由，否则保存后核查状态不变。</p>
      <label for="form-exception">无完整采集表确认的理由</label>
      <input id="form-exception" value=${exception} onInput=${(e) => setException(e.target.value)} />
    </div>`}
    ${FORM_FIELDS.map((n) => spec(n) && html`<${FieldInput} key=${n} collection="info_forms" spec=${spec(n)} value=${draft[n]}
      onChange=${set(n)} error=${errors[n]} />`)}
    <button class="btn primary wide" type="submit" id="save-form">保存采集表</button>
  </form>`;
}
