// Formatting the way the offices write: 2016年3月11日, numbers with separators, percentages.

const numberFormat = new Intl.NumberFormat('zh-CN');

/** `YYYY-MM-DD` → `2016年3月11日` (empty for nothing). */
export function date(iso) {
  if (!iso) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return String(iso);
  return `${Number(m[1])}年${Number(m[2])}月${Number(m[3])}日`;
}

/** `YYYY-MM-DD` → `3月11日`. */
export function shortDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  return m ? `${Number(m[2])}月${Number(m[3])}日` : '';
}

export function number(n) {
  return numberFormat.format(n ?? 0);
}

/** A share as a percentage with one decimal, or `—` when there is nothing to divide. */
export function percent(part, whole) {
  if (!whole) return '—';
  return `${(Math.round((1000 * part) / whole) / 10).toFixed(1)}%`;
}

/** A ratio in [0, 1] for sorting and bars (`-1` when undefined, so it sorts last). */
export function ratio(part, whole) {
  return whole ? part / whole : -1;
}

/** Today's date in China (UTC+8), as `YYYY-MM-DD`. */
export function chinaToday(now = new Date()) {
  const shifted = new Date(now.getTime() + 8 * 3600 * 1000);
  return shifted.toISOString().slice(0, 10);
}
