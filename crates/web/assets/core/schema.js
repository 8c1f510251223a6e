// Forms from the server's own declarations (`GET /v1/schema`): which fields a collection has,
// their types, bounds and Chinese labels, who may write them, the state machines and the rules
// across fields; and every other word people read (roles, kinds of unit, phases, counts, the
// audit trail's and the account log's words) with which roles a user may give and manage. The
// web faces keep no table of labels of their own. The app checks an edit here before it enters the outbox, so most refusals are
// caught on the phone, worded as the server words them; the server checks again.

import { checkIdNumber } from './idnumber.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function realDate(s) {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

export class Schema {
  constructor(doc) {
    this.doc = doc;
    this.byName = new Map(doc.collections.map((c) => [c.name, c]));
    this.roles = new Map(doc.roles.map((r) => [r.value, r.label]));
    this.roleDocs = new Map(doc.roles.map((r) => [r.value, r]));
    const table = (list) => new Map((doc[list] ?? []).map((w) => [w.value, w.label]));
    this.tables = Object.fromEntries(
      ['unit_kinds', 'phases', 'phase_states', 'counts', 'audit_ops', 'account_actions', 'account_fields'].map((k) => [k, table(k)]),
    );
  }

  /** The Chinese of a word of one of the document's tables; an unknown word as it is. */
  word(list, value) {
    return this.tables[list]?.get(value) ?? value;
  }

  role(value) {
    return this.roles.get(value) ?? value ?? '';
  }

  kind(value) {
    return this.word('unit_kinds', value);
  }

  count(key) {
    return this.word('counts', key);
  }

  phaseState(key) {
    return this.word('phase_states', key);
  }

  /** The kinds of unit that may be created below a unit of kind `kind`, the next level first. */
  childKinds(kind) {
    return (this.doc.unit_children ?? []).find((u) => u.kind === kind)?.children ?? [];
  }

  /** The roles a user of role `own` may give to an account at a unit of kind `kind`. */
  assignable(own, kind) {
    return (this.roleDocs.get(own)?.assigns ?? []).filter((r) => this.roleDocs.get(r)?.unit_kinds.includes(kind));
  }

  /** Whether a user of role `own` manages an account of role `role`. */
  manages(own, role) {
    return this.roleDocs.get(own)?.manages.includes(role) ?? false;
  }

  /** The words of an enum field, in order, with their labels. */
  values(collection, name) {
    return this.field(collection, name)?.values ?? [];
  }

  collection(name) {
    return this.byName.get(name);
  }

  field(collection, name) {
    return this.collection(collection)?.fields.find((f) => f.name === name) ?? null;
  }

  /** The Chinese of a stored value: enum words by their labels, booleans as 是/否. */
  display(collection, name, value) {
    if (value === undefined || value === null || value === '') return '';
    const f = this.field(collection, name);
    if (typeof value === 'boolean') return value ? '是' : '否';
    if (f?.values) {
      const label = (w) => f.values.find((v) => v.value === w)?.label ?? w;
      return Array.isArray(value) ? value.map(label).join('、') : label(value);
    }
    return Array.isArray(value) ? value.join('、') : String(value);
  }

  label(collection, name) {
    return this.field(collection, name)?.label ?? name;
  }

  canWrite(collection, name, role) {
    return this.field(collection, name)?.writers.includes(role) ?? false;
  }

  canCreate(collection, role) {
    return this.collection(collection)?.creators.includes(role) ?? false;
  }

  workflow(collection, name) {
    return this.collection(collection)?.workflows.find((w) => w.field === name) ?? null;
  }

  /** The values `role` may move `name` to from `current` (absent: the implicit state). */
  nextStates(collection, name, current, role) {
    const w = this.workflow(collection, name);
    if (!w) return [];
    const from = current ?? w.implicit;
    return w.steps
      .filter((s) => s.from === from && (s.roles.length === 0 ? this.canWrite(collection, name, role) : s.roles.includes(role)))
      .map((s) => s.to);
  }

  /**
   * Checks a record as it would be stored after an edit of `touched` fields; returns
   * `{field: message}` (empty when it passes). `creating`: required fields must be present.
   */
  check(collection, fields, touched, { creating = false } = {}) {
    const errors = {};
    const c = this.collection(collection);
    if (!c) return errors;
    for (const f of c.fields) {
      const v = fields[f.name];
      const empty = v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0 && f.type !== 'people');
      if (empty) {
        if (f.required && (creating || touched.includes(f.name))) errors[f.name] = `「${f.label}」为必填项`;
        continue;
      }
      if (!touched.includes(f.name) && !creating) continue;
      const e = this.checkValue(f, v);
      if (e) errors[f.name] = e;
    }
    for (const w of c.workflows) {
      const state = fields[w.field];
      for (const r of w.requires) {
        if (state !== r.value) continue;
        if (!(touched.includes(w.field) || r.fields.some((n) => touched.includes(n)))) continue;
        for (const n of r.fields) {
          if (fields[n] === undefined || fields[n] === null || fields[n] === '') {
            const valueLabel = this.display(collection, w.field, r.value);
            errors[n] = `「${this.label(collection, w.field)}」为「${valueLabel}」时须填写「${this.label(collection, n)}」`;
          }
        }
      }
    }
    for (const rule of c.rules) {
      const e = this.checkRule(collection, rule, fields);
      if (e && !errors[rule.field]) errors[rule.field] = e;
    }
    return errors;
  }

  checkValue(f, v) {
    switch (f.type) {
      case 'text':
        if (typeof v !== 'string') return `「${f.label}」应为文本`;
        if ([...v.trim()].length > f.max_length) return `「${f.label}」应为不超过${f.max_length}个字符的文本`;
        return null;
      case 'date':
        return realDate(v) ? null : `「${f.label}」应为YYYY-MM-DD 格式的有效日期`;
      case 'int':
        return Number.isInteger(v) && v >= f.min && v <= f.max ? null : `「${f.label}」应为${f.min}到${f.max}之间的整数`;
      case 'enum':
        return f.values.some((w) => w.value === v) ? null : `「${f.label}」的取值无效`;
      case 'id_number': {
        const r = checkIdNumber(v);
        return r.ok ? null : r.message;
      }
      default:
        return null;
    }
  }

  checkRule(collection, rule, fields) {
    switch (rule.code) {
      case 'birth_date_mismatch':
      case 'gender_mismatch': {
        if (!fields.id_number) return null;
        const id = checkIdNumber(fields.id_number);
        if (!id.ok) return null;
        if (rule.code === 'birth_date_mismatch' && fields.birth_date && fields.birth_date !== id.birth_date) {
          return '出生日期与公民身份号码不一致';
        }
        if (rule.code === 'gender_mismatch' && fields.gender && fields.gender !== id.gender) return '性别与公民身份号码不一致';
        return null;
      }
      case 'channel_method_mismatch': {
        if (!fields.method || !fields.channel) return null;
        const group = rule.groups?.find((g) => g.value === fields.method);
        return group && !group.members.includes(fields.channel) ? '查找渠道与查找方式不一致' : null;
      }
      case 'working_group_size': {
        const n = Array.isArray(fields.people) ? fields.people.length : 0;
        return n >= 5 && n <= 9 ? null : rule.description;
      }
      case 'required_field':
        return fields.source === 'department' && !fields.department ? rule.description : null;
      default:
        return null;
    }
  }

  /** The channels that belong to a search method (`channel_method_mismatch`'s groups). */
  channelsOf(method) {
    const rule = this.collection('contact_attempts')?.rules.find((r) => r.code === 'channel_method_mismatch');
    return rule?.groups?.find((g) => g.value === method)?.members ?? [];
  }
}
