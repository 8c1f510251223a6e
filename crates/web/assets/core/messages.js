// What a person reads, in Chinese: labels of roles, units, phase states and counts, and the
// messages of failures the server cannot word itself (it words every API error).

export const ROLE = {
  system_admin: '平台管理员',
  committee_admin: '党工委',
  org_office: '组织办',
  street_staff: '街道',
  work_area_staff: '工作区',
  branch_secretary: '党支部书记',
  group_member: '工作组成员',
  viewer: '查阅人员',
};

export const KIND = {
  committee: '党工委',
  street: '街道',
  work_area: '工作区',
  branch: '党支部',
};

// Phase states as the console shows them (the server's `state_zh` is preferred when present).
export const PHASE_STATE = {
  not_applicable: '不适用',
  open: '进行中',
  on_time: '按时完成',
  late: '逾期完成',
  missing: '逾期未完成',
};

export const COUNT = {
  members_total: '在册党员',
  verified: '已核查',
  verified_by_deadline: '按期核查',
  lost_contact_at_start: '排查开始时失联',
  mobile: '流动党员',
  info_forms_complete: '采集表完整',
  contact_cases: '查找案件',
  found: '已取得联系',
  still_lost: '仍无法联系',
  transfers: '转出党员',
  transfers_without_receipt: '转出未回执',
  department_requests_pending: '待部门查找',
  archive_reviews_open: '档案待审核',
  overdue: '逾期事项',
  suspended: '停止党籍',
};

export const MSG = {
  unreachable: '无法连接服务器，正在自动重试……',
  reconnected: '已恢复连接',
  session_expired: '登录已过期，请重新登录',
  timeout: '服务器响应超时，请稍后再试',
  unexpected: '服务器返回了无法识别的内容',
  loading: '正在加载……',
  sign_in: '登录',
  sign_out: '退出登录',
  username: '用户名',
  password: '密码',
  signing_in: '正在登录……',
  empty_children: '本单位没有下级单位。',
  no_campaign: '尚未设置排查工作（开始日期），各阶段暂无进度。',
};
