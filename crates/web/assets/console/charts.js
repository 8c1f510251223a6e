// Charts of the overview, drawn with Apache ECharts (vendored; loaded only when a chart is
// shown, as a classic script from this server). Each chart reads the §10 counts of the unit
// shown; the verification chart reads the days on which members were verified
// (`verified_by_day`, dated by the forms or by the server when the outcome was recorded).

import { html, useEffect, useRef } from '../core/ui.js';
import { shortDate } from '../core/format.js';

let loading = null;

/** Loads ECharts once (its hashed URL is on the page, in `<meta name="echarts">`). */
function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = document.querySelector('meta[name=echarts]').content;
      script.onload = () => resolve(window.echarts);
      script.onerror = () => {
        loading = null;
        reject(new Error('图表组件加载失败'));
      };
      document.head.append(script);
    });
  }
  return loading;
}

const FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
const COLORS = ['#c8161d', '#1d4f91', '#1a7f37', '#d99a00', '#6b4fa0', '#5c6370'];

function Chart({ id, title, option, empty }) {
  const box = useRef(null);
  useEffect(() => {
    if (empty) return undefined;
    let chart;
    let alive = true;
    const onResize = () => chart?.resize();
    loadECharts().then((echarts) => {
      if (!alive || !box.current) return;
      chart = echarts.init(box.current, null, { renderer: 'canvas' });
      chart.setOption({ color: COLORS, textStyle: { fontFamily: FONT }, animation: false, ...option });
      box.current.dataset.ready = '1';
      addEventListener('resize', onResize);
    }, () => {});
    return () => {
      alive = false;
      removeEventListener('resize', onResize);
      chart?.dispose();
    };
  }, [JSON.stringify(option), empty]);
  return html`
    <figure class="card chart" data-chart=${id}>
      <figcaption>${title}</figcaption>
      ${empty
        ? html`<p class="muted chart-empty">${empty}</p>`
        : html`<div class="chart-box" ref=${box} role="img" aria-label=${title}></div>`}
    </figure>`;
}

const FOUND_BY = {
  direct: '直接联系',
  interpersonal: '人际关系查找',
  department: '部门查找',
  other: '其他方式',
  unknown: '未注明',
};

/** The verification progress: members verified per day and in all, over the phase's window. */
function verificationOption(byDay, phase) {
  const start = phase?.starts_on;
  const end = phase?.deadline;
  const days = Object.keys(byDay).sort();
  const from = [start, days[0]].filter(Boolean).sort()[0];
  const to = [end, days[days.length - 1]].filter(Boolean).sort().pop();
  const axis = [];
  if (from && to) {
    for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
      axis.push(d.toISOString().slice(0, 10));
    }
  }
  let total = 0;
  const cumulative = axis.map((d) => (total += byDay[d] || 0));
  return {
    grid: { left: 40, right: 40, top: 30, bottom: 30 },
    tooltip: { trigger: 'axis' },
    legend: { data: ['当日核查', '累计核查'], top: 0 },
    xAxis: { type: 'category', data: axis.map(shortDate) },
    yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', minInterval: 1 }],
    series: [
      { name: '当日核查', type: 'bar', data: axis.map((d) => byDay[d] || 0) },
      { name: '累计核查', type: 'line', yAxisIndex: 1, data: cumulative },
    ],
  };
}

function pie(data) {
  return {
    tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
    legend: { bottom: 0 },
    series: [{ type: 'pie', radius: ['30%', '58%'], center: ['50%', '44%'], label: { formatter: '{b} {c}' }, data }],
  };
}

export function Charts({ counts, phases }) {
  const verification = phases.find((p) => p.phase === 'verification');
  const found = Object.entries(counts.found_by_method || {}).map(([k, v]) => ({ name: FOUND_BY[k] || k, value: v }));
  const reissued = counts.receipts_reissued || 0;
  const missing = counts.transfers_without_receipt || 0;
  const receipts = [
    { name: '已收到回执', value: Math.max(0, counts.transfers - missing - reissued) },
    { name: '已补开回执', value: reissued },
    { name: '尚无回执', value: missing },
  ].filter((d) => d.value > 0);
  const byDay = counts.verified_by_day || {};
  return html`
    <section class="charts" aria-label="图表">
      <${Chart} id="categories" title="党员类别"
        empty=${counts.members_total === 0 ? '尚无党员。' : ''}
        option=${pie([
          { name: '正式党员', value: counts.full_members },
          { name: '预备党员', value: counts.probationary_members },
          { name: '未注明', value: Math.max(0, counts.members_total - counts.full_members - counts.probationary_members) },
        ].filter((d) => d.value > 0))} />
      <${Chart} id="verification" title="核查进度（按日）"
        empty=${Object.keys(byDay).length === 0 ? '还没有完成核查的党员。' : ''}
        option=${verificationOption(byDay, verification)} />
      <${Chart} id="found" title="失联党员取得联系的方式"
        empty=${found.length === 0 ? '还没有经查找取得联系的党员。' : ''}
        option=${{
          grid: { left: 100, right: 20, top: 10, bottom: 30 },
          tooltip: {},
          xAxis: { type: 'value', minInterval: 1 },
          yAxis: { type: 'category', data: found.map((d) => d.name) },
          series: [{ type: 'bar', data: found.map((d) => d.value) }],
        }} />
      <${Chart} id="receipts" title="转出党员回执情况"
        empty=${counts.transfers === 0 ? '没有转出党员。' : ''}
        option=${pie(receipts)} />
    </section>`;
}
