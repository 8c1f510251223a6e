// 公民身份号码 (GB 11643-1999) as a field takes it (docs/protocol.md §9.1): the same check as
// the server's `paicha_domain::id_number`, tested against the same vectors
// (crates/domain/testdata/id_numbers.json) in the browser tests. A 15-digit first-generation
// number is converted to 18 characters (`legacy: true`), as the server does on a member.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

function checkChar(body17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}

function birthDate(number) {
  const y = Number(number.slice(6, 10));
  const m = Number(number.slice(10, 12));
  const d = Number(number.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return null;
  }
  return number.slice(6, 10) + '-' + number.slice(10, 12) + '-' + number.slice(12, 14);
}

const MESSAGES = {
  id_number_length: (n) => `公民身份号码应为18位，当前为${n}位`,
  id_number_character: (p) => `公民身份号码第${p}位字符无效（前17位应为数字，第18位应为数字或X）`,
  id_number_birth_date: () => '公民身份号码中的出生日期无效',
  id_number_check_digit: () => '公民身份号码校验码错误，请核对',
};

function fail(code, arg) {
  return { ok: false, code, message: MESSAGES[code](arg) };
}

function done(number, legacy) {
  const date = birthDate(number);
  if (!date) return fail('id_number_birth_date');
  return {
    ok: true,
    normalized: number,
    birth_date: date,
    gender: Number(number[16]) % 2 === 1 ? 'male' : 'female',
    legacy,
  };
}

/** Checks `input`; `{ok, normalized, birth_date, gender, legacy}` or `{ok: false, code, message}`. */
export function checkIdNumber(input) {
  const s = String(input).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '');
  if (/^[0-9]{15}$/.test(s)) {
    const body = s.slice(0, 6) + '19' + s.slice(6);
    return done(body + checkChar(body), true);
  }
  const chars = [...s];
  if (chars.length !== 18) return fail('id_number_length', chars.length);
  let normalized = '';
  for (let i = 0; i < 18; i++) {
    const c = chars[i];
    if (c >= '0' && c <= '9') normalized += c;
    else if ((c === 'X' || c === 'x') && i === 17) normalized += 'X';
    else return fail('id_number_character', i + 1);
  }
  if (!birthDate(normalized)) return fail('id_number_birth_date');
  if (checkChar(normalized) !== normalized[17]) return fail('id_number_check_digit');
  return done(normalized, false);
}
